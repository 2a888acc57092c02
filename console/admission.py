"""The one rule that decides whether an e-mail address may join an organization.

Used by every way in: add user (invite), auto-add at sign-up, bulk import, add back.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from console.models import email_domain_of


@dataclass(frozen=True)
class Admission:
    allowed: bool
    reason: str = ""
    code: str = ""


def email_admission(organization, email: str) -> Admission:
    """Allowed only at a domain the organization holds *verified* (not pending, not lapsed)."""
    from domains.models import Domain

    domain_name = email_domain_of(email)
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
            _(
                "%(domain)s is not a verified domain of this organization. Add and verify it "
                "under Domains first."
            )
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
    return Admission(True)
