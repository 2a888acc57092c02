"""Writes for organizations and their people. Each service runs in one transaction, audits
the change with its actor, sends e-mail only once the transaction has committed, and
refuses an illegal action with ConsoleError.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from console import audit, clock
from console.admission import email_admission
from console.errors import ConsoleError
from console.models import Account, AuditEvent, Membership, Organization, User, normalise_email

EMAIL_VERIFICATION_MAX_AGE = timedelta(days=3)
EMAIL_VERIFICATION_SALT = "console.email-verification"


# --- E-mail ---------------------------------------------------------------------------------


def absolute_url(path: str) -> str:
    return settings.CONSOLE_BASE_URL.rstrip("/") + path


def send_templated_email(*, template: str, to: str, context: dict, language: str = "en") -> None:
    """Render templates/emails/<template>_{subject,message}.txt (+ .html) in `language` and send."""
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {"support_url": settings.SUPPORT_URL, **context}
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        text = render_to_string(f"emails/{template}_message.txt", context)
        html = render_to_string(f"emails/{template}_message.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send()


def send_on_commit(**kwargs) -> None:
    """E-mail only if the surrounding transaction commits (no mail about a change rolled back)."""
    transaction.on_commit(lambda: send_templated_email(**kwargs))


# --- Signed e-mail verification links -------------------------------------------------------


class ClockTimestampSigner(signing.TimestampSigner):
    """TimestampSigner that reads the one clock, so tests can move time past the expiry."""

    def timestamp(self):
        return signing.b62_encode(int(clock.now().timestamp()))

    def unsign(self, value, max_age=None):
        result = signing.Signer.unsign(self, value)
        value, timestamp = result.rsplit(self.sep, 1)
        timestamp = signing.b62_decode(timestamp)
        if max_age is not None:
            if isinstance(max_age, timedelta):
                max_age = max_age.total_seconds()
            age = clock.now().timestamp() - timestamp
            if age > max_age:
                raise signing.SignatureExpired(f"Signature age {age} > {max_age} seconds")
        return value


def email_verification_token(user: User) -> str:
    """A signed token naming the user and the address; changing the address voids it."""
    return ClockTimestampSigner(salt=EMAIL_VERIFICATION_SALT).sign(f"{user.pk}:{user.email}")


def email_verification_url(user: User) -> str:
    return absolute_url(reverse("console:verify_email", args=[email_verification_token(user)]))


def user_for_verification_token(token: str) -> User:
    """The user a valid, unexpired token names; ConsoleError otherwise."""
    try:
        value = ClockTimestampSigner(salt=EMAIL_VERIFICATION_SALT).unsign(token, max_age=EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ConsoleError(
            _("This verification link has expired (links are valid for 3 days). Sign in to get a new one."),
            code="expired",
        ) from None
    except signing.BadSignature:
        raise ConsoleError(_("This verification link is not valid."), code="bad_signature") from None
    pk, _sep, email = value.partition(":")
    user = User.objects.filter(pk=pk, email=email).first()
    if user is None:
        raise ConsoleError(_("This verification link is not valid."), code="bad_signature")
    return user


def set_password_url(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return absolute_url(reverse("console:set_password", kwargs={"uidb64": uid, "token": token}))


# --- Becoming and ceasing to be a managed user ----------------------------------------------


def _make_managed(
    *, user: User, organization: Organization, role: str, joined_via: str, via_domain: str = ""
) -> Membership:
    """Create the Membership and move the accounts the user owns into the organization."""
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user,
                organization=organization,
                role=role,
                joined_via=joined_via,
                via_domain=via_domain,
                joined_at=clock.now(),
            )
    except IntegrityError:
        # The OneToOne on Membership.user: someone else made the user managed meanwhile.
        raise ConsoleError(
            _("This user is already a managed user of an organization."), code="managed_elsewhere"
        ) from None
    Account.objects.filter(owner=user).update(organization=organization)
    return membership


def _actor_membership(actor, organization: Organization) -> Membership | None:
    if actor is None:
        return None
    return Membership.objects.filter(user=actor, organization=organization).first()


def _require_owner_for(role_involved: bool, actor, organization: Organization) -> None:
    """Only Owners grant, take away or remove the Owner role (operators and the system may)."""
    if not role_involved or actor is None:
        return
    actor_membership = _actor_membership(actor, organization)
    if actor_membership is None or actor_membership.role != Membership.Role.OWNER:
        raise ConsoleError(_("Only an Owner can grant, change or remove the Owner role."), code="owner_only")


def other_owners_exist(membership: Membership) -> bool:
    # Lock the owners of the organization so two concurrent demotions cannot both pass.
    owners = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Membership.Role.OWNER)
        .exclude(pk=membership.pk)
    )
    return owners.exists()


@transaction.atomic
def add_member(*, organization: Organization, email: str, role: str, actor: User | None) -> Membership:
    """Add a user by e-mail, only at a verified domain of the organization (email_admission).

    An independent user becomes managed, with the accounts they own; a user managed elsewhere
    is refused; an unknown address gets a new user without a usable password and an
    invitation e-mail with a set-password link.
    """
    email = normalise_email(email)
    if role not in Membership.Role.values:
        raise ConsoleError(_("Choose a valid role."), code="invalid_role")
    _require_owner_for(role == Membership.Role.OWNER, actor, organization)
    admission = email_admission(organization, email)
    if not admission.allowed:
        raise ConsoleError(admission.reason, code=admission.code)

    user = User.objects.filter(email__iexact=email).select_related("membership__organization").first()
    invited = user is None
    if invited:
        user = User.objects.create_user(email, password=None, email_verified=False)
    else:
        _refuse_existing_user(user, organization, email)
    membership = _make_managed(
        user=user,
        organization=organization,
        role=role,
        joined_via=Membership.JoinedVia.INVITED,
        via_domain=user.email_domain,
    )
    if invited:
        audit.record("user.invited", organization=organization, actor=actor, target=user, detail={"role": role})
        send_on_commit(
            template="console_invitation",
            to=user.email,
            language=user.language,
            context={
                "organization": organization.name,
                "inviter": actor.display_name if actor else organization.name,
                "set_password_url": set_password_url(user),
            },
        )
    else:
        audit.record("user.added", organization=organization, actor=actor, target=user, detail={"role": role})
        _send_added(user, organization)
    return membership


def _send_added(user: User, organization: Organization) -> None:
    """Tell an existing user they are now a managed user of `organization` (after commit)."""
    send_on_commit(
        template="console_added",
        to=user.email,
        language=user.language,
        context={"organization": organization.name, "login_url": absolute_url(reverse("console:login"))},
    )


def _refuse_existing_user(user: User, organization: Organization, email: str) -> None:
    """An existing user can be added only if independent, active and e-mail-verified."""
    existing = getattr(user, "membership", None)
    if existing is not None:
        if existing.organization_id == organization.pk:
            raise ConsoleError(
                _("%(email)s is already a user of this organization.") % {"email": email}, code="already_member"
            )
        raise ConsoleError(
            _("%(email)s is a managed user of another organization and cannot be added.") % {"email": email},
            code="managed_elsewhere",
        )
    if not user.is_active:
        raise ConsoleError(_("%(email)s is deactivated and cannot be added.") % {"email": email}, code="deactivated")
    if not user.email_verified:
        raise ConsoleError(
            _("%(email)s has not verified their e-mail address yet; add them once they have.") % {"email": email},
            code="email_not_verified",
        )


@transaction.atomic
def change_role(*, membership: Membership, role: str, actor: User | None) -> Membership:
    """Change a managed user's role. The last Owner is never demoted; only Owners touch Owners."""
    if role not in Membership.Role.values:
        raise ConsoleError(_("Choose a valid role."), code="invalid_role")
    membership = Membership.objects.select_for_update().select_related("user", "organization").get(pk=membership.pk)
    old_role = membership.role
    if old_role == role:
        return membership
    _require_owner_for(Membership.Role.OWNER in (old_role, role), actor, membership.organization)
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
    _require_owner_for(membership.role == Membership.Role.OWNER, actor, organization)
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
    if notify:
        send_on_commit(
            template="console_removed",
            to=user.email,
            language=user.language,
            context={"organization": organization.name, "reason": reason},
        )
    return user


# --- Sign-up and e-mail verification --------------------------------------------------------


@transaction.atomic
def sign_up(*, email: str, password: str, full_name: str = "", language: str = "en") -> User | None:
    """Create an independent user (e-mail not verified) and send a verification link.

    For an address that already has a user, send a "you already have an account" e-mail
    instead and return None: the caller shows the same page either way.
    """
    email = normalise_email(email)
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        send_on_commit(
            template="console_account_exists",
            to=existing.email,
            language=existing.language,
            context={
                "login_url": absolute_url(reverse("console:login")),
                "reset_url": absolute_url(reverse("console:password_reset")),
            },
        )
        return None
    user = User.objects.create_user(
        email, password=password, full_name=full_name, email_verified=False, language=language
    )
    audit.record("user.signed_up", actor=user, target=user)
    send_verification_email(user=user)
    return user


def send_verification_email(*, user: User) -> None:
    send_on_commit(
        template="console_verify_email",
        to=user.email,
        language=user.language,
        context={"verify_url": email_verification_url(user), "days": EMAIL_VERIFICATION_MAX_AGE.days},
    )


@transaction.atomic
def verify_email(*, token: str) -> User:
    """Mark the address in a valid link verified (idempotent) and run after_email_verified."""
    user = user_for_verification_token(token)
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        audit.record("user.email_verified", actor=user, target=user)
        after_email_verified(user)
    return user


def after_email_verified(user: User) -> Membership | None:
    """Auto-add a newly verified independent user to the organization that holds their
    e-mail domain verified with "automatically add new users" on. A domain that needs
    re-validation refuses (audited with the reason from email_admission).
    """
    from domains.models import Domain

    if Membership.objects.filter(user=user).exists() or not user.is_active:
        return None
    domain = (
        Domain.objects.held()
        .filter(name=user.email_domain, auto_add_new_users=True)
        .select_related("organization")
        .first()
    )
    if domain is None:
        return None
    organization = domain.organization
    with transaction.atomic():
        admission = email_admission(organization, user.email)
        if not admission.allowed:
            audit.record(
                "user.auto_add_refused",
                organization=organization,
                actor_kind=AuditEvent.ActorKind.SYSTEM,
                target=user,
                detail={"domain": domain.name, "reason": str(admission.reason), "code": admission.code},
            )
            return None
        try:
            membership = _make_managed(
                user=user,
                organization=organization,
                role=Membership.Role.MEMBER,
                joined_via=Membership.JoinedVia.AUTO_ADDED,
                via_domain=domain.name,
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
    _send_added(user, organization)
    return membership


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
    organization = Organization.objects.create(name=name, created_at=clock.now())
    _make_managed(
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
