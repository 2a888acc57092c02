"""The report as CSV: streamed in constant memory, spreadsheet-safe, UTF-8 with a BOM.

Decision: we write a UTF-8 byte-order mark. Excel opens a BOM-less UTF-8 CSV in the legacy
code page and garbles Japanese names; LibreOffice, Numbers, pandas (encoding="utf-8-sig")
and Python's csv all handle the BOM.

On PostgreSQL the rows are written by the database itself, `COPY (SELECT ...) TO STDOUT WITH
CSV`, streamed to the client as it produces them: the labels (in the reader's language) go in
as parameters, and the formula neutralising is the rule of `neutralise`, written in SQL (a test
holds the two paths to the same bytes). A million rows in seconds, in constant memory.
Elsewhere (the embedded SQLite shape) Python writes the same CSV from a server-side cursor.
"""

import csv
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from console.models import Account
from console.spreadsheet import FORMULA_PREFIXES, neutralise
from imports.models import ImportJob, ImportRow, Reason

BOM = "\ufeff"
# The formula starts of console.spreadsheet as the code points SQL's ascii() gives for a first
# character: an integer test per cell, where a regular expression costs several times as much.
_FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_PREFIXES)
_CHUNK_BYTES = 64 * 1024


class _Echo:
    """A file-like object whose write returns the line, for csv.writer into a generator."""

    def write(self, value):
        return value


class _LineWriter:
    """csv rows ending in "\n", with a field quoted when it holds a comma, a quote, CR or LF:
    exactly what PostgreSQL's COPY … CSV writes (Python's writer quotes the characters of its
    line terminator, so it writes "\r\n" rows and we give each row COPY's "\n")."""

    def __init__(self):
        self._writer = csv.writer(_Echo(), lineterminator="\r\n")

    def writerow(self, values) -> str:
        return self._writer.writerow(values)[:-2] + "\n"


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


def _labels() -> dict:
    """Every word the CSV writes, in the active (the reader's) language, rendered before
    streaming starts so the generator needs no active translation."""
    return {
        "reasons": {code: str(label) for code, label in Reason.choices},
        "results": {code: str(label) for code, label in ImportRow.Result.choices},
        "yes": _("yes"),
        "no": _("no"),
        "eligible": _("eligible"),
        "not_eligible": _("not eligible"),
    }


def csv_chunks(job: ImportJob) -> Iterator[bytes]:
    """The CSV as UTF-8 bytes, BOM and header first: by COPY on PostgreSQL, else by Python."""
    if connection.vendor == "postgresql":
        return _copy_chunks(job, _labels())
    return (line.encode() for line in csv_lines(job))


def _labelled(column: str, labels: dict, *, neutralise_labels: bool = False) -> tuple[str, list]:
    """CASE column WHEN code THEN label ... ELSE column END, the labels as parameters (neutralised
    here, once, rather than in SQL for every row); the empty code, most rows', first."""
    whens = " ".join("WHEN %s THEN %s" for _code in labels)
    other = _neutralised(column) if neutralise_labels else column
    values = [
        value for code, label in labels.items() for value in (code, neutralise(label) if neutralise_labels else label)
    ]
    return f"CASE {column} WHEN '' THEN NULL {whens} ELSE {other} END", values


def _neutralised(column: str) -> str:
    # NULL for an empty value: COPY writes NULL as nothing, as Python's csv writes "".
    return f"CASE WHEN ascii({column}) IN ({_FORMULA_CODES}) THEN '''' || {column} ELSE NULLIF({column}, '') END"


def _copy_sql(job: ImportJob, labels: dict) -> tuple[str, list]:
    """The rows with their words (inner SELECT, each parameter once), then neutralised and
    formatted as the Python writer does (outer SELECT)."""
    reason, reason_params = _labelled("r.reason", labels["reasons"], neutralise_labels=True)
    result, result_params = _labelled("r.result", labels["results"])
    result_reason, result_reason_params = _labelled("r.result_reason", labels["reasons"], neutralise_labels=True)
    inner = (
        "SELECT r.id, r.email, u.full_name, r.accounts_count, moving.names, r.signed_up_at, "  # noqa: S608
        "CASE WHEN r.email_verified THEN %s ELSE %s END AS verified, "
        "CASE WHEN r.eligible THEN %s ELSE %s END AS status, "
        f"{reason} AS reason, "
        "CASE WHEN r.selected THEN %s ELSE %s END AS selected, r.notified_at, "
        # Not imported (yet): say why a row never will be, and leave the others blank.
        f"CASE WHEN r.result = %s THEN (CASE WHEN r.eligible THEN NULL ELSE %s END) ELSE {result} END AS result, "
        f"{result_reason} AS result_reason, r.processed_at "
        "FROM imports_importrow r LEFT JOIN console_user u ON u.id = r.user_id "
        "LEFT JOIN LATERAL (SELECT string_agg(a.name, '; ' ORDER BY a.name, a.id) AS names "
        "FROM console_account a WHERE a.owner_id = r.user_id AND a.organization_id IS NULL) moving ON TRUE "
        "WHERE r.job_id = %s"
    )
    params = [
        labels["yes"], labels["no"], labels["eligible"], labels["not_eligible"], *reason_params,
        labels["yes"], labels["no"], ImportRow.Result.PENDING, labels["not_eligible"], *result_params,
        *result_reason_params, job.pk,
    ]
    # A timestamp's own text in the ISO date style (_copy_chunks sets it) cut before any fraction
    # of a second: spreadsheet_time, at a third of to_char's cost.
    when = "substr(({} AT TIME ZONE 'UTC')::text, 1, 19)"
    outer = [
        _neutralised("t.email"), _neutralised("t.full_name"), "t.accounts_count", _neutralised("t.names"),
        when.format("t.signed_up_at"), "t.verified", "t.status", "t.reason", "t.selected",
        when.format("t.notified_at"), "t.result", "t.result_reason", when.format("t.processed_at"),
    ]
    # Fixed identifiers; every value is a bound parameter.
    sql = f"COPY (SELECT {', '.join(outer)} FROM ({inner}) t ORDER BY t.id) TO STDOUT WITH (FORMAT csv)"  # noqa: S608
    return sql, params


def _copy_chunks(job: ImportJob, labels: dict) -> Iterator[bytes]:
    yield (BOM + _LineWriter().writerow(header())).encode()
    sql, params = _copy_sql(job, labels)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL datestyle = 'ISO'")  # the timestamps' text form, whatever the server's default
        with cursor.cursor.copy(sql, params) as copy:
            # COPY sends a message per row: yielding ~64 KiB at a time spares the server a write
            # (and the Python above it a step) per row, with memory still bounded.
            buffer = bytearray()
            for data in copy:
                buffer += data
                if len(buffer) >= _CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
            if buffer:
                yield bytes(buffer)


def csv_lines(job: ImportJob, *, chunk_size: int | None = None) -> Iterator[str]:
    """Yield the CSV text of the job's rows, line by line, header first (BOM before it),
    written by Python (the SQLite path, and the reference the COPY path is tested against)."""
    chunk_size = chunk_size or settings.IMPORT_CSV_CHUNK_SIZE
    labels = _labels()
    reasons, results = labels["reasons"], labels["results"]
    yes, no = labels["yes"], labels["no"]
    eligible_text, not_eligible_text = labels["eligible"], labels["not_eligible"]
    head = header()
    writer = _LineWriter()

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
