"""E-mails about a domain's life, to every Owner and Administrator (and to removed users),
each in the recipient's language, as text and HTML. Called inside the transaction that makes
the change: the e-mail records commit or roll back with it, and hold ids only (rendered at
send time).

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
    return admins_by_organization([organization_id]).get(organization_id, [])


def admins_by_organization(organization_ids) -> dict[int, list[User]]:
    """Every active Owner and Administrator of these organizations, in one query."""
    admins: dict[int, list[User]] = {}
    memberships = Membership.objects.filter(
        organization_id__in=list(organization_ids), role__in=Membership.ADMIN_ROLES, user__is_active=True
    ).select_related("user")
    for membership in memberships:
        admins.setdefault(membership.organization_id, []).append(membership.user)
    return admins


def _queue(*, template: str, users: list[User], params: dict) -> None:
    """Record the e-mail for each user; rendered when sent, in that user's language."""
    emails.queue_to_users(template, users=users, params=params)


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


def _domain_context(params: dict, user: User | None) -> dict:
    """The context of every domain e-mail, from the ids in its params, loaded at send time."""
    domain = Domain.objects.select_related("organization").filter(pk=params["domain_id"]).first()
    if domain is None:
        raise emails.NothingToSend("The domain no longer exists.")
    check_id = params.get("check_id")
    if params.get("latest_check"):
        check = domain.checks.first()
    else:
        check = DomainCheck.objects.filter(pk=check_id).first() if check_id else None
    context = {"user": user, "domain_rules": rules.as_context(), **_check_context(domain, check)}
    if "days_left" in params:
        context["days_left"] = params["days_left"]
    if "removed_user_ids" in params:
        context["reason"] = domain.removal_reason
        context["removed"] = list(User.objects.filter(pk__in=params["removed_user_ids"]).order_by("email"))
        context["skipped"] = list(User.objects.filter(pk__in=params["skipped_user_ids"]).order_by("email"))
    return context


def _user_removed_context(params: dict, user: User | None) -> dict:
    return {"user": user, "domain_rules": rules.as_context(), **params}


for _template in (*TEMPLATES.values(), "domains_reminder", "domains_deleted"):
    emails.register(_template, _domain_context)
emails.register("domains_user_removed", _user_removed_context)


def domain_states_changed(changes: list[tuple[Domain, str, DomainCheck | None]]) -> int:
    """Tell every Owner and Administrator what happened (verified, failing, re-validated), for
    a batch of changes in two statements. Called inside the transaction that made the changes:
    the e-mails commit with them."""
    changes = [(domain, event, check) for domain, event, check in changes if event in TEMPLATES]
    if not changes:
        return 0
    admins = admins_by_organization({domain.organization_id for domain, _event, _check in changes})
    return emails.queue_many(
        (TEMPLATES[event], user, {"domain_id": domain.pk, "check_id": check.pk if check else None}, "")
        for domain, event, check in changes
        for user in admins.get(domain.organization_id, [])
    )


def send_reminder(*, domain_id: int, days_left: int) -> None:
    """"N days left" reminder to every Owner and Administrator of a failing domain."""
    domain = Domain.objects.filter(pk=domain_id).first()
    if domain is None or domain.status != Domain.Status.REVALIDATION_REQUIRED:
        return
    _queue(
        template="domains_reminder",
        users=admins_of(domain.organization_id),
        params={"domain_id": domain_id, "latest_check": True, "days_left": days_left},
    )


def send_domain_deleted(*, domain_id: int, removed_user_ids: list[int], skipped_user_ids: list[int]) -> None:
    """Tell the (remaining) Owners and Administrators the domain was deleted and who was removed."""
    domain = Domain.objects.filter(pk=domain_id).first()
    if domain is None:
        return
    _queue(
        template="domains_deleted",
        users=admins_of(domain.organization_id),
        params={"domain_id": domain_id, "removed_user_ids": removed_user_ids, "skipped_user_ids": skipped_user_ids},
    )


def send_user_removed(*, user_id: int, organization_name: str, domain_name: str) -> None:
    """Tell a user removed at expiry that they are independent again and keep everything."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    _queue(
        template="domains_user_removed",
        users=[user],
        params={"organization": organization_name, "domain_name": domain_name},
    )
