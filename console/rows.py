"""Table rows of the console's list pages, worked out once per page.

The template engine resolving, per row, the same labels, links, dates and translations was most
of a list page's time; here each label is translated once, each link built from one reversed
pattern and each date formatted once, so a row costs a few dictionary lookups.
"""

import re

from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from console.models import Membership


def link_maker(name: str):
    """reverse() once with a marker id, then per row only a string replace."""
    marker = "9223372036854775807"
    pattern = reverse(name, args=[int(marker)])
    return lambda pk: pattern.replace(marker, str(pk))


# django.utils.dateformat characters: any part of the time of day or zone, and those finer than a minute.
_TIME_CHARACTERS = frozenset("aABcefgGhHiIOPrsTuUvZ")
_SUB_MINUTE_CHARACTERS = frozenset("crsuUv")


def date_formatter(format_name: str):
    """formats.date_format in the current language and time zone, each distinct text worked out
    once per page: a format of the date alone formats each day once, one to the minute each
    minute once (the rows of one check run share their minutes)."""
    format_string = formats.get_format(format_name)
    characters = set(re.sub(r"\\.", "", format_string))  # a backslash-escaped character is literal
    date_only = not characters & _TIME_CHARACTERS
    to_the_minute = not characters & _SUB_MINUTE_CHARACTERS
    formatted: dict = {}

    def format_value(value) -> str:
        if not value:
            return ""
        moment = timezone.localtime(value)
        if date_only:
            moment = moment.date()
        elif to_the_minute:
            moment = moment.replace(second=0, microsecond=0)
        if moment not in formatted:
            formatted[moment] = dateformat.format(moment, format_string)
        return formatted[moment]

    return format_value


def member_rows(memberships, *, owners_count: int, csrf_input: SafeString) -> list[SafeString]:
    """The Users page, one <tr> per membership (up to 50): each word translated once, each link
    built from one reversed pattern, the role form's token rendered once, every value escaped by
    format_html."""
    roles = [(value, str(label)) for value, label in Membership.Role.choices]
    role_labels = dict(roles)
    # The <option>s of the role menu, one string per selected role.
    options = {
        selected: mark_safe(  # noqa: S308 (format_html escapes each label)
            "".join(
                format_html('<option value="{}"{}>{}</option>', value, mark_safe(" selected") if value == selected else "", label)  # noqa: S308
                for value, label in roles
            )
        )
        for selected in [*role_labels, None]
    }
    joined_via = {value: str(label) for value, label in Membership.JoinedVia.choices}
    role_of, change_role_of = _("Role of %(email)s"), _("the role of %(email)s")
    change_role, remove, resend = (
        link_maker("console:user_change_role"),
        link_maker("console:user_remove"),
        link_maker("console:user_resend_invitation"),
    )
    joined = date_formatter("DATE_FORMAT")
    change, remove_word, resend_word = _("Change"), _("Remove"), _("Resend invitation")
    not_verified = format_html(' <span class="badge pending">{}</span>', _("e-mail not verified"))
    only_owner = _("The only Owner")
    two_factor = {
        True: format_html('<span class="badge verified">{}</span>', _("On")),
        False: format_html('<span class="badge pending">{}</span>', _("Not set up")),
    }
    rows = []
    for membership in memberships:
        user, pk = membership.user, membership.pk
        email = conditional_escape(user.email)
        role_label = role_labels.get(membership.role, membership.role)
        sole_owner = membership.role == Membership.Role.OWNER and owners_count == 1
        if sole_owner:
            role = format_html('{}<br><span class="muted">{}</span>', role_label, only_owner)
            actions = mark_safe('<span class="muted">—</span>')  # noqa: S308 (fixed markup)
        else:
            role = format_html(
                '<form method="post" action="{}" class="role-form">{}'
                '<label for="role-{}" class="visually-hidden">{}</label><select name="role" id="role-{}">{}</select>'
                '<button type="submit" class="secondary">{}<span class="visually-hidden"> {}</span></button></form>',
                change_role(pk),
                csrf_input,
                pk,
                mark_safe(role_of % {"email": email}),  # noqa: S308 (the address is escaped)
                pk,
                options.get(membership.role, options[None]),
                change,
                mark_safe(change_role_of % {"email": email}),  # noqa: S308
            )
            actions = format_html('<a href="{}">{}<span class="visually-hidden"> {}</span></a>', remove(pk), remove_word, email)
        if membership.joined_via == Membership.JoinedVia.INVITED and not user.has_usable_password():
            actions = format_html(
                '<a href="{}" class="nowrap">{}<span class="visually-hidden"> {}</span></a><br>{}',
                resend(pk),
                resend_word,
                email,
                actions,
            )
        via = joined_via.get(membership.joined_via, membership.joined_via)
        if membership.via_domain:
            via = format_html('{} <span class="muted">({})</span>', via, membership.via_domain)
        rows.append(
            format_html(
                '<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td class="nowrap">{}</td><td>{}</td><td>{}</td>'
                "<td>{}</td></tr>",
                email,
                "" if user.email_verified else not_verified,
                user.full_name,
                role,
                via,
                joined(membership.joined_at),
                membership.accounts_count,
                two_factor[bool(user.two_factor_enabled)],
                actions,
            )
        )
    return rows
