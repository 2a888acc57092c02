"""Table rows of the console's list pages, worked out once per page.

The template engine resolving, per row, the same labels, links, dates and translations was most
of a list page's time; here each label is translated once, each link built from one reversed
pattern and each date formatted once, so a row costs a few dictionary lookups.
"""

import re
from dataclasses import dataclass

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


@dataclass(slots=True)
class MemberRow:
    membership: Membership
    sole_owner: bool
    role_label: str
    role_options: SafeString
    role_of: SafeString
    change_role_of: SafeString
    change_role_url: str
    joined_via_label: str
    joined: str
    resend_url: str
    remove_url: str


def member_rows(memberships, *, owners_count: int) -> list[MemberRow]:
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
    rows = []
    for membership in memberships:
        email = conditional_escape(membership.user.email)
        rows.append(
            MemberRow(
                membership=membership,
                sole_owner=membership.role == Membership.Role.OWNER and owners_count == 1,
                role_label=role_labels.get(membership.role, membership.role),
                role_options=options.get(membership.role, options[None]),
                role_of=mark_safe(role_of % {"email": email}),  # noqa: S308 (the address is escaped)
                change_role_of=mark_safe(change_role_of % {"email": email}),  # noqa: S308
                change_role_url=change_role(membership.pk),
                joined_via_label=joined_via.get(membership.joined_via, membership.joined_via),
                joined=joined(membership.joined_at),
                resend_url=resend(membership.pk),
                remove_url=remove(membership.pk),
            )
        )
    return rows
