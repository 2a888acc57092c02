"""The report as CSV: streamed in constant memory, spreadsheet-safe, UTF-8 with a BOM.

Decision: we write a UTF-8 byte-order mark. Excel opens a BOM-less UTF-8 CSV in the legacy
code page and garbles Japanese names; LibreOffice, Numbers, pandas (encoding="utf-8-sig")
and Python's csv all handle the BOM. Rows come from a server-side cursor
(`.iterator(chunk_size=…)`), so memory stays flat from ten thousand to a million rows.
"""

import csv
from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext as _

from console.models import Account
from imports.models import ImportJob, ImportRow, Reason

BOM = "\ufeff"
# A cell starting with one of these is a formula (or becomes one) in spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """Text that a spreadsheet shows as text: a leading ' before a formula-like start."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns the line, for csv.writer into a generator."""

    def write(self, value):
        return value


def spreadsheet_time(value) -> str:
    """UTC date and time as spreadsheet programs read it (Excel does not read ISO 8601's T and offset)."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def header() -> list[str]:
    return [
        _("E-mail address"),
        _("Name"),
        _("Accounts"),
        _("Accounts that move"),
        _("Signed up (UTC)"),
        _("E-mail verified"),
        _("Status"),
        _("Reason"),
        _("Selected"),
        _("Notified at (UTC)"),
        _("Import result"),
        _("Not imported because"),
        _("Processed at (UTC)"),
    ]


def csv_lines(job: ImportJob, *, chunk_size: int | None = None) -> Iterator[str]:
    """Yield the CSV text of the job's rows, line by line, header first (BOM before it).

    Labels are rendered here, before streaming starts, in the reader's language; the
    generator then needs no active translation.
    """
    chunk_size = chunk_size or settings.IMPORT_CSV_CHUNK_SIZE
    reasons = {code: str(label) for code, label in Reason.choices}
    results = {code: str(label) for code, label in ImportRow.Result.choices}
    yes, no = _("yes"), _("no")
    eligible_text, not_eligible_text = _("eligible"), _("not eligible")
    head = header()
    writer = csv.writer(_Echo())

    def moving_accounts(user_ids) -> dict[int, str]:
        """The accounts each user owns that belong to no organization (they move with an
        import), one query per chunk of rows."""
        names: dict[int, list[str]] = {}
        for owner_id, name in (
            Account.objects.filter(owner_id__any_of=list(user_ids), organization__isnull=True)
            .order_by("owner_id", "name", "pk")
            .values_list("owner_id", "name")
        ):
            names.setdefault(owner_id, []).append(name)
        return {owner_id: "; ".join(values) for owner_id, values in names.items()}

    def chunks(rows):
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def generate():
        yield BOM + writer.writerow(head)
        rows = (
            ImportRow.objects.filter(job_id=job.pk)
            .order_by("pk")
            .values_list(
                "user_id",
                "email",
                "user__full_name",
                "accounts_count",
                "signed_up_at",
                "email_verified",
                "eligible",
                "reason",
                "selected",
                "notified_at",
                "result",
                "result_reason",
                "processed_at",
            )
            .iterator(chunk_size=chunk_size)
        )
        for chunk in chunks(rows):
            moving = moving_accounts([row[0] for row in chunk if row[0] is not None])
            yield from (line(row, moving) for row in chunk)

    def line(row, moving) -> str:
        (user_id, email, name, accounts, signed_up, verified, eligible, reason, selected, notified, result,
         result_reason, processed) = row
        if result == ImportRow.Result.PENDING:
            # Not imported (yet): say why a row never will be, and leave the others blank.
            result_text = "" if eligible else not_eligible_text
        else:
            result_text = results.get(result, result)
        return writer.writerow(
            [
                neutralise(email),
                neutralise(name),
                accounts,
                neutralise(moving.get(user_id, "")),
                spreadsheet_time(signed_up),
                yes if verified else no,
                eligible_text if eligible else not_eligible_text,
                neutralise(reasons.get(reason, reason)),
                yes if selected else no,
                spreadsheet_time(notified),
                result_text,
                neutralise(reasons.get(result_reason, result_reason)),
                spreadsheet_time(processed),
            ]
        )

    return generate()


def csv_filename(job: ImportJob) -> str:
    return f"import-{job.domain_name}-{job.pk}.csv"
