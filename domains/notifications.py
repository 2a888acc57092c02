"""E-mails about a domain's life, to every Owner and Administrator (and to removed users),
each in the recipient's language, as text and HTML. Called after commit with ids only, so a
rolled-back change never sends mail.

Templates: templates/emails/domains_<event>_{subject,message}.txt and _message.html.
"""

from django.urls import reverse

from console import emails
from console.messages import Message
from console.models import Membership, User
from domains import rules
from domains.models import Domain, DomainCheck

TEMPLATES = {
    "domain.verified": "domains_verified",
    "domain.failing": "domains_failing",
    "domain.revalidated": "domains_revalidated",
}


def domain_url(domain: Domain) -> str:
    return emails.absolute_url(reverse("domains:detail", args=[domain.pk]))


def admins_of(organization_id: int) -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(
            organization_id=organization_id, role__in=Membership.ADMIN_ROLES, user__is_active=True
        ).select_related("user")
    ]


def send(*, template: str, user: User, context_for) -> None:
    """Send `template` to the user in their language; the context is built in that language,
    so stored messages are rendered in it too."""
    emails.send_to_user(
        template, user=user, context=lambda: {"user": user, "domain_rules": rules.as_context(), **context_for()}
    )


def _check_context(domain: Domain, check: DomainCheck | None) -> dict:
    """What was found and what to fix, rendered in the active language."""
    detail = Message.from_json(check.detail_message) if check else None
    diagnostics = [m for m in (Message.from_json(d) for d in (check.diagnostics if check else [])) if m]
    return {
        "domain": domain,
        "domain_name": domain.unicode_name or domain.name,
        "organization": domain.organization.name,
        "found": detail.render() if detail else (check.detail if check else ""),
        "diagnostics": [m.render() for m in diagnostics],
        "is_dns": domain.method == Domain.Method.DNS,
        "txt_host": domain.txt_host,
        "txt_value": domain.txt_value,
        "https_url": domain.https_url,
        "grace_deadline": domain.grace_deadline,
        "domain_url": domain_url(domain),
    }


def domain_state_changed(*, domain_id: int, event: str, check_id: int | None) -> None:
    """Tell every Owner and Administrator what happened (verified, failing, re-validated)."""
    template = TEMPLATES.get(event)
    if template is None:
        return
    domain = Domain.objects.select_related("organization").filter(pk=domain_id).first()
    if domain is None:
        return
    check = DomainCheck.objects.filter(pk=check_id).first() if check_id else None
    for user in admins_of(domain.organization_id):
        send(template=template, user=user, context_for=lambda: _check_context(domain, check))


def send_reminder(*, domain_id: int, days_left: int) -> None:
    """"N days left" reminder to every Owner and Administrator of a failing domain."""
    domain = Domain.objects.select_related("organization").filter(pk=domain_id).first()
    if domain is None or domain.status != Domain.Status.REVALIDATION_REQUIRED:
        return
    check = domain.checks.first()
    for user in admins_of(domain.organization_id):
        send(
            template="domains_reminder",
            user=user,
            context_for=lambda: {**_check_context(domain, check), "days_left": days_left},
        )


def send_domain_deleted(*, domain_id: int, removed_user_ids: list[int], skipped_user_ids: list[int]) -> None:
    """Tell the (remaining) Owners and Administrators the domain was deleted and who was removed."""
    domain = Domain.objects.select_related("organization").filter(pk=domain_id).first()
    if domain is None:
        return
    removed = list(User.objects.filter(pk__in=removed_user_ids).order_by("email"))
    skipped = list(User.objects.filter(pk__in=skipped_user_ids).order_by("email"))
    for user in admins_of(domain.organization_id):
        send(
            template="domains_deleted",
            user=user,
            context_for=lambda: {
                **_check_context(domain, None),
                "reason": domain.removal_reason,
                "removed": removed,
                "skipped": skipped,
            },
        )


def send_user_removed(*, user_id: int, organization_name: str, domain_name: str) -> None:
    """Tell a user removed at expiry that they are independent again and keep everything."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    send(
        template="domains_user_removed",
        user=user,
        context_for=lambda: {"organization": organization_name, "domain_name": domain_name},
    )
