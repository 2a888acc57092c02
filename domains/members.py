"""The ways a person becomes a managed user through a verified domain: an admin adds them by
e-mail, they sign up and verify an address at a domain set to add new users automatically, or
an admin adds back the users removed when the domain expired.

Each asks `domains.admission.admission` and joins through `console.services.make_managed`,
so all of them follow the same rule and move the same accounts.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from console import audit, clock, services
from console.errors import ConsoleError
from console.models import AuditEvent, Membership, Organization, User, normalise_email
from console.registration import limit_mail
from domains.admission import admission
from domains.models import Domain, RemovedMember


@transaction.atomic
def add_member(
    *, organization: Organization, email: str, role: str, actor: User | None, client_address: str = ""
) -> Membership:
    """Add a user by e-mail, only at a verified domain of the organization (admission).

    An independent user becomes managed, with the accounts they own; a user managed elsewhere
    is refused; an unknown address gets a new user without a usable password and an
    invitation e-mail with a set-password link. The e-mail is rate-limited per recipient and
    per client address.
    """
    email = normalise_email(email)
    if role not in Membership.Role.values:
        raise ConsoleError(_("Choose a valid role."), code="invalid_role")
    services.require_may_grant(role, actor, organization)
    user = User.objects.filter(email__iexact=email).select_related("membership").first()
    decision = admission(organization, email, user=user)
    if not decision.allowed:
        raise ConsoleError(decision.reason, code=decision.code)
    limit_mail("invitation", to=email, client_address=client_address)
    invited = user is None
    if invited:
        user = User.objects.create_user(email, password=None, email_verified=False)
    membership = services.make_one_managed(
        user=user,
        organization=organization,
        role=role,
        joined_via=Membership.JoinedVia.INVITED,
        via_domain=user.email_domain,
        actor=actor,
    )
    if invited:
        audit.record("user.invited", organization=organization, actor=actor, target=user, detail={"role": role})
        services.send_invitation(user, organization, actor=actor)
    else:
        audit.record("user.added", organization=organization, actor=actor, target=user, detail={"role": role})
        services.send_added(user, organization)
    return membership


def auto_add(*, user: User, **_signal) -> Membership | None:
    """Auto-add a newly verified independent user to the organization that holds their e-mail
    domain verified with "automatically add new users" on. Connected to console's
    `email_verified`. A domain that needs re-validation refuses (audited with the reason)."""
    domain = (
        Domain.objects.held()
        .filter(name=user.email_domain, auto_add_new_users=True)
        .select_related("organization")
        .first()
    )
    if domain is None or Membership.objects.filter(user=user).exists() or not user.is_active:
        return None
    organization = domain.organization
    with transaction.atomic():
        decision = admission(organization, user.email, user=user)
        if not decision.allowed:
            audit.record(
                "user.auto_add_refused",
                organization=organization,
                actor_kind=AuditEvent.ActorKind.SYSTEM,
                target=user,
                detail={"domain": domain.name, "reason": str(decision.reason), "code": decision.code},
            )
            return None
        try:
            membership = services.make_one_managed(
                user=user, organization=organization, joined_via=Membership.JoinedVia.AUTO_ADDED, via_domain=domain.name
            )
        except ConsoleError:
            return None
        audit.record(
            "user.auto_added",
            organization=organization,
            actor_kind=AuditEvent.ActorKind.SYSTEM,
            target=user,
            detail={"domain": domain.name},
        )
    services.send_added(user, organization)
    return membership


# --- Adding back the users removed at expiry -------------------------------------------------


@dataclass
class AddBackOutcome:
    added: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (e-mail, reason for people)


@transaction.atomic
def add_back_removed_members(*, domain: Domain, actor) -> AddBackOutcome:
    """Recreate the memberships of users removed at expiry, with their old role, once the
    organization holds the domain verified again; each passes admission like a new user, and
    gets back only a role the acting admin could grant by hand (an Administrator never
    restores an Owner: that row stays for an Owner to add back). Idempotent: added_back_at
    marks each row."""
    domain = Domain.objects.select_for_update().select_related("organization").get(pk=domain.pk)
    if domain.status != Domain.Status.VERIFIED:
        raise ConsoleError(
            _("Verify %(domain)s again before adding its users back.") % {"domain": domain.unicode_name or domain.name},
            code="domain_not_verified",
        )
    organization = domain.organization
    now = clock.now()
    outcome = AddBackOutcome()
    rows = RemovedMember.objects.filter(
        organization_id=domain.organization_id, domain_name=domain.name, added_back_at__isnull=True
    ).select_related("user__membership")
    for row in rows.select_for_update(of=("self",)).order_by("user__email"):
        user = row.user
        decision = admission(organization, user.email, user=user)
        if decision.code == "already_member":
            row.added_back_at = now  # nothing left to do for this row
            row.save(update_fields=["added_back_at"])
            outcome.skipped.append((user.email, _("Already a user of this organization.")))
            continue
        if not decision.allowed:
            outcome.skipped.append((user.email, decision.reason))
            continue
        try:
            with transaction.atomic():
                membership = services.make_one_managed(
                    user=user,
                    organization=organization,
                    role=row.role,
                    joined_via=Membership.JoinedVia.ADDED_BACK,
                    via_domain=domain.name,
                    actor=actor,
                    at=now,
                )
        except ConsoleError as error:
            outcome.skipped.append((user.email, error.message))
            continue
        row.added_back_at = now
        row.save(update_fields=["added_back_at"])
        audit.record(
            "user.added_back",
            organization=organization,
            actor=actor,
            target=user,
            detail={"domain": domain.name, "role": row.role, "accounts_moved": membership.accounts_moved},
        )
        outcome.added.append(user.email)
    return outcome
