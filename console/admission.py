"""The person half of admission: may this user become a managed user of this organization?

The domain half (the address must be at a domain the organization holds verified) belongs to
the domains app, whose `domains.admission.admission` combines both for every way in: add user,
auto-add at sign-up, the import report and its re-check at import time, and add back.

The rule, in order: already in this organization; managed by another organization;
deactivated; e-mail address not verified. The same order is written once as a pure function
(`person_refusal`, for rows in hand) and once as an SQL expression (`person_refusal_sql`, for
set-based reads of many users); a test holds them to the same answers.
"""

from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Refusal(models.TextChoices):
    """Why a person cannot become managed here, in words (also the import report's reasons)."""

    ALREADY_MEMBER = "already_member", gettext_lazy("Already in this organization")
    MANAGED_ELSEWHERE = "managed_elsewhere", gettext_lazy("Managed by another organization")
    DEACTIVATED = "deactivated", gettext_lazy("Deactivated")
    EMAIL_NOT_VERIFIED = "email_not_verified", gettext_lazy("E-mail address not verified")


def person_refusal(
    *, organization_id: int, is_active: bool, email_verified: bool, membership_organization_id: int | None
) -> str:
    """The Refusal code for one user, or "" when the person may join."""
    if membership_organization_id is not None:
        return Refusal.ALREADY_MEMBER if membership_organization_id == organization_id else Refusal.MANAGED_ELSEWHERE
    if not is_active:
        return Refusal.DEACTIVATED
    if not email_verified:
        return Refusal.EMAIL_NOT_VERIFIED
    return ""


def person_refusal_of(user, organization_id: int) -> str:
    membership = getattr(user, "membership", None)
    return person_refusal(
        organization_id=organization_id,
        is_active=user.is_active,
        email_verified=user.email_verified,
        membership_organization_id=membership.organization_id if membership is not None else None,
    )


def person_refusal_sql(organization_id: int, *, prefix: str = "") -> Case:
    """`person_refusal` as an SQL expression over User rows (`prefix` for a related user)."""
    return Case(
        When(Q(**{f"{prefix}membership__organization_id": organization_id}), then=Value(Refusal.ALREADY_MEMBER)),
        When(Q(**{f"{prefix}membership__isnull": False}), then=Value(Refusal.MANAGED_ELSEWHERE)),
        When(Q(**{f"{prefix}is_active": False}), then=Value(Refusal.DEACTIVATED)),
        When(Q(**{f"{prefix}email_verified": False}), then=Value(Refusal.EMAIL_NOT_VERIFIED)),
        default=Value(""),
        output_field=models.CharField(),
    )


def refusal_sentence(code: str, email: str) -> str:
    """What an admin adding `email` is told, for a person Refusal code."""
    sentences = {
        Refusal.ALREADY_MEMBER: _("%(email)s is already a user of this organization."),
        Refusal.MANAGED_ELSEWHERE: _("%(email)s is a managed user of another organization and cannot be added."),
        Refusal.DEACTIVATED: _("%(email)s is deactivated and cannot be added."),
        Refusal.EMAIL_NOT_VERIFIED: _("%(email)s has not verified their e-mail address yet; add them once they have."),
    }
    return sentences[code] % {"email": email}
