"""The Domains list's rows and the domain page's checks, worked out once per page.

With 100 domains the page's cost was the template engine resolving, per row, the same labels,
links and translations; here each label is translated once and each link built from one
reversed pattern, so a row costs a few dictionary lookups.
"""

from django.template.loader import render_to_string
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from console.rows import date_formatter, link_maker
from domains.models import Domain, DomainCheck
from domains.selectors import render_stored_message
from domains.templatetags.domain_tags import certificate_problem

# The same words as domains/_outcome_badge.html.
OUTCOME_WORDS = {
    "verified": lambda: _("Verified"),
    "not_found": lambda: _("Not found"),
    "mismatch": lambda: _("Mismatch"),
    "inconclusive": lambda: _("Inconclusive"),
}


def domain_rows(domains) -> list[SafeString]:
    """The Domains list, one <tr> per domain (up to 100): each label translated once, each link
    built from one reversed pattern, every value escaped by format_html."""
    statuses = {value: str(label) for value, label in Domain.Status.choices}
    methods = {value: str(label) for value, label in Domain.Method.choices}
    outcomes = {value: word() for value, word in OUTCOME_WORDS.items()}
    detail, verify = link_maker("domains:detail"), link_maker("domains:verify")
    when = date_formatter("DATETIME_FORMAT")
    # The same messages as the template's blocktranslate (one msgid each); the name is escaped.
    actions = {
        Domain.Status.PENDING: _('Verify<span class="visually-hidden"> %(name)s</span>'),
        Domain.Status.REVALIDATION_REQUIRED: _('Re-validate<span class="visually-hidden"> %(name)s</span>'),
    }
    details = _('Details<span class="visually-hidden"> of %(name)s</span>')
    removed_on = _("Its users are removed on %(deadline)s unless the record is restored.")
    not_checked = format_html('<span class="muted">{}</span>', _("Not checked yet"))
    none_scheduled = format_html('<span class="muted">{}</span>', _("None scheduled"))
    rows = []
    for domain in domains:
        action = actions.get(domain.status)
        ascii_name = ""
        if domain.unicode_name != domain.name:
            ascii_name = format_html(' <span class="muted mono">{}</span>', domain.name)
        status = format_html('<span class="badge {}">{}</span>', domain.status, statuses.get(domain.status, domain.status))
        if domain.in_grace and domain.grace_deadline:  # few rows: the countdown's own template
            status = format_html(
                '{}<br>{}<br><span class="muted">{}</span>',
                status,
                render_to_string("domains/_countdown.html", {"domain": domain}),
                removed_on % {"deadline": when(domain.grace_deadline)},
            )
        last_check = not_checked
        if domain.last_checked_at:
            last_check = when(domain.last_checked_at)
            if domain.last_outcome:
                outcome = outcomes.get(domain.last_outcome, domain.last_outcome)
                last_check = format_html('{} <span class="badge {}">{}</span>', last_check, domain.last_outcome, outcome)
        rows.append(
            format_html(
                '<tr><td><a href="{}">{}</a>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href="{}">{}</a></td></tr>',
                detail(domain.pk),
                domain.unicode_name,
                ascii_name,
                status,
                methods.get(domain.method, domain.method),
                last_check,
                when(domain.next_check_at) if domain.next_check_at else none_scheduled,
                verify(domain.pk) if action else detail(domain.pk),
                mark_safe((action or details) % {"name": conditional_escape(domain.unicode_name)}),  # noqa: S308
            )
        )
    return rows


def check_rows(checks) -> list[SafeString]:
    """The domain page's "Recent checks" table, one <tr> per check (up to 50 a page): each label
    translated once, each minute formatted once, every value escaped by format_html."""
    triggers = {value: str(label) for value, label in DomainCheck.Trigger.choices}
    methods = {value: str(label) for value, label in Domain.Method.choices}
    # The same words as domains/_outcome_badge.html.
    outcomes = {value: word() for value, word in OUTCOME_WORDS.items()}
    untrusted = _("Certificate not trusted")
    duration = _("%(ms)s ms")  # the same msgid as the blocktranslate it replaces
    when = date_formatter("DATETIME_FORMAT")
    rows = []
    for check in checks:
        badge = ""
        if check.outcome:
            word = untrusted if certificate_problem(check) else outcomes.get(check.outcome, check.outcome)
            badge = format_html('<span class="badge {}">{}</span>', check.outcome, word)
        diagnostics = [text for text in (render_stored_message(item) for item in (check.diagnostics or [])) if text]
        rows.append(
            format_html(
                '<tr><td class="nowrap">{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}{}</td>'
                '<td class="nowrap">{}</td></tr>',
                when(check.checked_at),
                triggers.get(check.trigger, check.trigger),
                format_html(' <span class="muted">({})</span>', check.triggered_by_email)
                if check.triggered_by_email
                else "",
                methods.get(check.method, check.method),
                badge,
                render_stored_message(check.detail_message, check.detail),
                format_html(
                    '<ul class="diagnostics">{}</ul>', format_html_join("", "<li>{}</li>", ((text,) for text in diagnostics))
                )
                if diagnostics
                else "",
                duration % {"ms": check.duration_ms},
            )
        )
    return rows
