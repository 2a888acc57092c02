"""Writes for organizations and their people: becoming and ceasing to be a managed user,
roles, creating an organization. Each service runs in one transaction, audits the change with
its actor, e-mails only once the transaction has committed, and refuses an illegal action with
ConsoleError.

Who may join (the verified domain and the person) is decided by `domains.admission`; this
module only makes the membership, the one way every entry point does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from console import audit, bulk, clock, emails, events, registration
from console.errors import ConsoleError
from console.models import Account, AuditEvent, Membership, Organization, User, normalise_email

# --- Becoming and ceasing to be a managed user ----------------------------------------------


def require_may_grant(role: str, actor, organization: Organization) -> None:
    """Only Owners grant, take away or remove the Owner role (operators and the system may)."""
    if role != Membership.Role.OWNER or actor is None:
        return
    actor_role = Membership.objects.filter(user=actor, organization=organization).values_list("role", flat=True).first()
    if actor_role != Membership.Role.OWNER:
        raise ConsoleError(_("Only an Owner can grant, change or remove the Owner role."), code="owner_only")


@dataclass(frozen=True)
class Joined:
    user_ids: frozenset[int]
    accounts_moved: int


def make_managed(
    *,
    organization: Organization,
    user_ids: Collection[int],
    joined_via: str,
    role: str = Membership.Role.MEMBER,
    via_domain: str = "",
    actor: User | None = None,
    at: datetime | None = None,
    emails: Mapping[int, str] | None = None,
) -> Joined:
    """Make users managed users of `organization`, in one statement however many they are.

    A managed user belongs to one organization and joins it together with their accounts:
    the accounts each user owns that belong to no organization follow them (an account already
    in another organization is never taken). Users who meanwhile became managed (here or
    elsewhere) are left out. Returns who joined and how many accounts followed them.

    The caller has checked admission (domains.admission); the role must be one the actor may grant.
    `emails` (user id → address), when the caller has just read the users in this transaction,
    spares reading them again for the events.
    """
    if role not in Membership.Role.values:
        raise ConsoleError(_("Choose a valid role."), code="invalid_role")
    require_may_grant(role, actor, organization)
    columns = {
        "user": list(user_ids),
        "organization": organization.pk,
        "role": role,
        "joined_via": joined_via,
        "via_domain": via_domain,
        "joined_at": at or clock.now(),
    }
    joined = frozenset(bulk.insert_columns(Membership, columns, skip_conflicts_on="user", returning="user"))
    moved = 0
    if joined:
        moved = Account.objects.filter(owner_id__any_of=joined, organization__isnull=True).update(
            organization=organization
        )
        if emails is None:
            emails = dict(User.objects.filter(pk__any_of=joined).order_by().values_list("pk", "email"))
        events.emit_many(
            events.MEMBER_ADDED,
            organization_id=organization.pk,
            items=[
                {"user": {"id": pk, "email": emails[pk]}, "role": role, "how": joined_via, "via_domain": via_domain}
                for pk in sorted(joined)
            ],
        )
    return Joined(joined, moved)


def make_one_managed(*, user: User, organization: Organization, **options) -> Membership:
    """`make_managed` for one user; ConsoleError when they became managed meanwhile."""
    joined = make_managed(organization=organization, user_ids=[user.pk], **options)
    if user.pk not in joined.user_ids:
        raise ConsoleError(_("This user is already a managed user of an organization."), code="managed_elsewhere")
    membership = Membership.objects.select_related("user", "organization").get(user=user)
    membership.accounts_moved = joined.accounts_moved
    return membership


def send_added(user: User, organization: Organization) -> None:
    """Tell an existing user they are now a managed user of `organization` (after commit)."""
    emails.queue_to_user(
        "console_added",
        user=user,
        params={"organization": organization.name, "login_url": emails.absolute_url(reverse("console:login"))},
    )


def send_invitation(user: User, organization: Organization, *, actor: User | None) -> None:
    """Invite a user without a password to set one (the link is made when the e-mail is sent)."""
    emails.queue_to_user(
        "console_invitation",
        user=user,
        params={"organization": organization.name, "inviter": actor.display_name if actor else organization.name},
        reference=f"console.invitation:{user.pk}",
    )


def invitation_pending(membership: Membership) -> bool:
    """Invited and the invitation not yet accepted (no password set)."""
    return membership.joined_via == Membership.JoinedVia.INVITED and not membership.user.has_usable_password()


@transaction.atomic
def resend_invitation(*, membership: Membership, actor: User | None, client_address: str = "") -> None:
    """Send a pending invitation again, with a fresh set-password link. Rate-limited like every
    invitation (per recipient and per client address); refused once the invitation is accepted."""
    membership = Membership.objects.select_related("user", "organization").get(pk=membership.pk)
    if not invitation_pending(membership):
        raise ConsoleError(
            _("%(email)s has already accepted the invitation: there is nothing to resend.")
            % {"email": membership.user.email},
            code="invitation_accepted",
        )
    registration.limit_mail("invitation", to=membership.user.email, client_address=client_address)
    audit.record("user.invitation_resent", organization=membership.organization, actor=actor, target=membership.user)
    send_invitation(membership.user, membership.organization, actor=actor)


def other_owners_exist(membership: Membership) -> bool:
    # Lock the owners of the organization so two concurrent demotions cannot both pass.
    owners = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Membership.Role.OWNER)
        .exclude(pk=membership.pk)
    )
    return owners.exists()


@transaction.atomic
def change_role(*, membership: Membership, role: str, actor: User | None) -> Membership:
    """Change a managed user's role. The last Owner is never demoted; only Owners touch Owners."""
    if role not in Membership.Role.values:
        raise ConsoleError(_("Choose a valid role."), code="invalid_role")
    membership = Membership.objects.select_for_update().select_related("user", "organization").get(pk=membership.pk)
    old_role = membership.role
    if old_role == role:
        return membership
    if Membership.Role.OWNER in (old_role, role):
        require_may_grant(Membership.Role.OWNER, actor, membership.organization)
    if old_role == Membership.Role.OWNER and not other_owners_exist(membership):
        raise ConsoleError(
            _("%(email)s is the last Owner. Make someone else an Owner first.") % {"email": membership.user.email},
            code="last_owner",
        )
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        "user.role_changed",
        organization=membership.organization,
        actor=actor,
        target=membership.user,
        detail={"from": old_role, "to": role},
    )
    return membership


@transaction.atomic
def remove_member(
    *,
    membership: Membership,
    actor: User | None,
    actor_kind: str | None = None,
    reason: str = "",
    notify: bool = True,
) -> User:
    """Make a managed user independent again: delete the Membership and release their accounts
    from the organization. Nothing else is deleted. The last Owner is never removed.
    """
    membership = Membership.objects.select_for_update().select_related("user", "organization").get(pk=membership.pk)
    organization, user = membership.organization, membership.user
    require_may_grant(membership.role, actor, organization)
    if membership.role == Membership.Role.OWNER and not other_owners_exist(membership):
        raise ConsoleError(
            _("%(email)s is the last Owner and cannot be removed. Make someone else an Owner first.")
            % {"email": user.email},
            code="last_owner",
        )
    released = Account.objects.filter(owner=user, organization=organization).update(organization=None)
    role = membership.role
    membership.delete()
    audit.record(
        "user.removed",
        organization=organization,
        actor=actor,
        actor_kind=actor_kind,
        target=user,
        detail={"role": role, "accounts_released": released, **({"reason": reason} if reason else {})},
    )
    events.emit(
        events.MEMBER_REMOVED,
        organization_id=organization.pk,
        data={"user": {"id": user.pk, "email": user.email}, "role": role, "reason": reason, "accounts_released": released},
    )
    if notify:
        emails.queue_to_user("console_removed", user=user, params={"organization": organization.name, "reason": reason})
    return user


# --- Operators ------------------------------------------------------------------------------


@transaction.atomic
def create_organization(*, name: str, owner_email: str, password: str | None = None) -> tuple[Organization, User, bool]:
    """Create an organization with its Owner (an existing independent user, or a new one).

    Returns (organization, owner, user_created). Refuses an owner managed elsewhere.
    """
    name = (name or "").strip()
    if not name:
        raise ConsoleError(_("Enter the organization's name."), code="invalid_name")
    owner_email = normalise_email(owner_email)
    user = User.objects.filter(email__iexact=owner_email).first()
    created = user is None
    if created:
        user = User.objects.create_user(owner_email, password=password, email_verified=True)
    else:
        if Membership.objects.filter(user=user).exists():
            raise ConsoleError(
                _("%(email)s is already a managed user of an organization.") % {"email": owner_email},
                code="managed_elsewhere",
            )
        if password:
            user.set_password(password)
            user.save(update_fields=["password"])
    # New organizations start with two-factor sign-in required of their Owners and Administrators.
    organization = Organization.objects.create(name=name, created_at=clock.now(), two_factor_required_for_admins=True)
    make_one_managed(
        user=user, organization=organization, role=Membership.Role.OWNER, joined_via=Membership.JoinedVia.CREATED
    )
    audit.record(
        "organization.created",
        organization=organization,
        actor_kind=AuditEvent.ActorKind.OPERATOR,
        target=organization,
        detail={"owner": user.email},
    )
    return organization, user, created


def remember_language(*, user, language: str) -> None:
    """Store the interface language the user chose; e-mails to them are written in it."""
    if language in dict(settings.LANGUAGES) and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language
