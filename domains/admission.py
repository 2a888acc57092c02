"""The one rule that decides whether an e-mail address may become a managed user of an
organization, and if not, why. Every way in calls it: add user, auto-add at sign-up, the
import report and its re-check at import time, and add back.

Two halves, in this order:
1. the domain: the address must be at a domain the organization holds **verified** (not
   pending, not in re-validation — SPEC: while a domain needs re-validation, its addresses
   cannot be used to add new users);
2. the person (console.admission): not already managed, active, e-mail verified.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from console.admission import person_refusal_of, refusal_sentence
from console.models import Organization, User, email_domain_of
from domains.models import Domain


@dataclass(frozen=True)
class Admission:
    allowed: bool
    reason: str = ""  # for people, in the active language
    code: str = ""


ADMITTED = Admission(True)


def domain_admission(organization: Organization, domain_name: str) -> Admission:
    """The domain half: is `domain_name` a verified domain of the organization right now?"""
    if not domain_name:
        return Admission(False, _("Enter a valid e-mail address."), "invalid_email")
    domain = (
        Domain.objects.active()
        .filter(organization=organization, name=domain_name)
        .only("status", "unicode_name", "grace_deadline")
        .first()
    )
    if domain is None:
        return Admission(
            False,
            _("%(domain)s is not a verified domain of this organization. Add and verify it under Domains first.")
            % {"domain": domain_name},
            "domain_not_verified",
        )
    if domain.status == Domain.Status.PENDING:
        return Admission(
            False,
            _("%(domain)s is still being verified. Finish verifying it under Domains first.")
            % {"domain": domain.unicode_name},
            "domain_pending",
        )
    if domain.status == Domain.Status.REVALIDATION_REQUIRED:
        return Admission(
            False,
            _(
                "%(domain)s needs re-validation: its verification record or file is missing. "
                "Restore it and click Re-validate under Domains; until then no new users at "
                "this domain can be added."
            )
            % {"domain": domain.unicode_name},
            "domain_revalidation_required",
        )
    return ADMITTED


def admission(organization: Organization, email: str, *, user: User | None = None) -> Admission:
    """May `email` (the existing `user`, if there is one) become a managed user here?"""
    domain_half = domain_admission(organization, email_domain_of(email))
    if not domain_half.allowed or user is None:
        return domain_half
    code = person_refusal_of(user, organization.pk)
    if code:
        return Admission(False, refusal_sentence(code, email), code)
    return ADMITTED
