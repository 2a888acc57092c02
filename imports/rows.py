"""The import job page's report rows, worked out once per page.

Each of a page's 50 rows used to cost the template engine about twenty tags (translations, date
filters, choice labels, conditions); here each word is translated once per page, each date
formatted once per distinct value, and a row's cells are joined by format_html, which escapes
every value.
"""

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from console.rows import date_formatter
from imports.models import ImportRow, Reason


def report_rows(rows, *, selectable: bool, processed: bool) -> list[SafeString]:
    """One <tr> per ImportRow: the tick box when the job is selectable (eligible rows, with the
    hidden record of the rows the page showed), and the import result once rows were processed."""
    reasons = {value: str(label) for value, label in Reason.choices}
    results = {value: str(label) for value, label in ImportRow.Result.choices}
    words = {
        "new": _("new"),
        "yes": _("yes"),
        "no": _("no"),
        "eligible": _("eligible"),
        "not eligible": _("not eligible"),
        "not selected": _("not selected"),
    }
    import_email = _("Import %(email)s")  # the same msgid as a blocktranslate with email=…
    signed_up, notified = date_formatter("DATE_FORMAT"), date_formatter("DATETIME_FORMAT")
    made = []
    for row in rows:
        email = conditional_escape(row.email)
        tick = ""
        if selectable and row.eligible:
            tick = format_html(
                '<input type="hidden" name="page_rows" value="{}"><input type="checkbox" name="row" value="{}"'
                ' id="row-{}" {}aria-label="{}">',
                row.pk,
                row.pk,
                row.pk,
                mark_safe("checked ") if row.selected else "",  # noqa: S308 (a fixed attribute)
                mark_safe(import_email % {"email": email}),  # noqa: S308 (the address is escaped)
            )
        if row.eligible:
            status = format_html('<span class="badge eligible">{}</span>', words["eligible"])
        else:
            reason = reasons.get(row.reason, row.reason)
            status = format_html('<span class="badge not_eligible">{}</span> {}', words["not eligible"], reason)
        made.append(
            format_html(
                '<tr>{}<td>{}</td><td>{}</td><td class="nowrap">{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>',
                format_html("<td>{}</td>", tick) if selectable else "",
                format_html('{} <span class="badge">{}</span>', email, words["new"]) if row.new_since_parent else email,
                row.accounts_count,
                signed_up(row.signed_up_at),
                words["yes"] if row.email_verified else words["no"],
                status,
                notified(row.notified_at) or "—",
                format_html("<td>{}</td>", _result_cell(row, results, reasons, words)) if processed else "",
            )
        )
    return made


def _result_cell(row: ImportRow, results: dict, reasons: dict, words: dict) -> SafeString:
    not_imported = row.result == ImportRow.Result.NOT_IMPORTED
    if row.result == ImportRow.Result.IMPORTED:
        return format_html('<span class="badge imported">{}</span>', results[row.result])
    if not_imported and row.result_reason == Reason.NOT_SELECTED:
        return format_html('<span class="badge not_selected">{}</span>', words["not selected"])
    if not_imported and not row.eligible:
        return mark_safe("—")  # noqa: S308 (a fixed character)
    if not_imported:
        reason = reasons.get(row.result_reason, row.result_reason)
        return format_html('<span class="badge not_imported">{}</span> {}', results[row.result], reason)
    return mark_safe("")  # noqa: S308 (empty)
