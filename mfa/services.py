"""Writes for second factors and the organization's two-factor policy, and the checks of a
second factor. Each write runs in one transaction, keeps `User.two_factor_enabled` true exactly
when the user has an authenticator app or a security key, and is audited with its actor.

Code guesses are counted (console.ratelimit) BEFORE a code is checked, per user, so at most
MFA_FAILURES_PER_USER codes are ever evaluated for a user in a window; a right code gives its
attempt back. A code is accepted once: the TOTP time step and the recovery code are consumed
by a conditional update, so two requests racing with the same code cannot both pass.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console import audit, clock, ratelimit
from console.client import client_address, user_agent
from console.errors import ConsoleError
from console.models import Membership, Organization, User
from mfa import keys, totp
from mfa.models import RecoveryCode, SecurityKey, TotpDevice

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _organization_of(user: User) -> Organization | None:
    membership = Membership.objects.filter(user=user).select_related("organization").first()
    return membership.organization if membership is not None else None


def _where(request) -> dict:
    return {"address": client_address(request), "user_agent": user_agent(request)} if request is not None else {}


def _refresh_enabled(user: User) -> None:
    enabled = TotpDevice.objects.filter(user=user).exists() or SecurityKey.objects.filter(user=user).exists()
    User.objects.filter(pk=user.pk).update(two_factor_enabled=enabled)
    user.two_factor_enabled = enabled
    if not enabled:
        # Recovery codes stand in for a factor; with none left they would be a factor of their own.
        RecoveryCode.objects.filter(user=user).delete()


# --- Enrolment ------------------------------------------------------------------------------


@transaction.atomic
def add_totp(*, user: User, secret: str, code: str, request=None) -> TotpDevice:
    """Keep the authenticator app whose secret the user was shown, once they typed a code it
    made (proves the app holds the secret). One app per user."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one enrolment at a time per user
    if TotpDevice.objects.filter(user=user).exists():
        raise ConsoleError(_("You already have an authenticator app. Remove it first to set up another."), code="exists")
    counter = totp.matching_counter(secret, code, at=clock.now(), after_counter=-1)
    if counter is None:
        raise ConsoleError(
            _("That code does not match. Check the time on your phone is right and type the code now shown."),
            code="wrong_code",
        )
    device = TotpDevice.objects.create(user=user, secret=secret, last_counter=counter, created_at=clock.now())
    _refresh_enabled(user)
    audit.record("mfa.totp_added", organization=_organization_of(user), actor=user, target=user, detail=_where(request))
    return device


@transaction.atomic
def remove_totp(*, user: User, request=None) -> None:
    if not TotpDevice.objects.filter(user=user).delete()[0]:
        return
    _refresh_enabled(user)
    audit.record("mfa.totp_removed", organization=_organization_of(user), actor=user, target=user, detail=_where(request))


def clean_key_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ConsoleError(_("Give the key a name, e.g. 'YubiKey on my keyring'."), code="invalid_name")
    if len(name) > SecurityKey._meta.get_field("name").max_length:
        raise ConsoleError(_("Use a name of at most 100 characters."), code="invalid_name")
    return name


@transaction.atomic
def add_security_key(*, user: User, name: str, credential: keys.NewCredential, request=None) -> SecurityKey:
    name = clean_key_name(name)
    if SecurityKey.objects.filter(credential_id=credential.credential_id).exists():
        raise ConsoleError(_("This key is already registered."), code="exists")
    key = SecurityKey.objects.create(
        user=user,
        name=name,
        credential_id=credential.credential_id,
        public_key=credential.public_key,
        sign_count=credential.sign_count,
        is_passkey=credential.is_passkey,
        created_at=clock.now(),
    )
    _refresh_enabled(user)
    audit.record(
        "mfa.security_key_added",
        organization=_organization_of(user),
        actor=user,
        target=user,
        detail={"name": name, "passkey": credential.is_passkey, **_where(request)},
    )
    return key


@transaction.atomic
def remove_security_key(*, key: SecurityKey, request=None) -> None:
    user = key.user
    SecurityKey.objects.filter(pk=key.pk).delete()
    _refresh_enabled(user)
    audit.record(
        "mfa.security_key_removed",
        organization=_organization_of(user),
        actor=user,
        target=user,
        detail={"name": key.name, **_where(request)},
    )


def _digest(code: str) -> str:
    return hashlib.sha256(totp.normalise_code(code).lower().encode()).hexdigest()


@transaction.atomic
def generate_recovery_codes(*, user: User, request=None) -> list[str]:
    """Ten new single-use codes, replacing any earlier ones. Returned once; only digests are kept."""
    if not user.two_factor_enabled:
        raise ConsoleError(_("Set up an authenticator app or a security key first."), code="no_factor")
    codes = []
    for _index in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _char in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.filter(user=user).delete()
    now = clock.now()
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, digest=_digest(code), created_at=now) for code in codes])
    audit.record(
        "mfa.recovery_codes_generated", organization=_organization_of(user), actor=user, target=user, detail=_where(request)
    )
    return codes


# --- Checking a second factor --------------------------------------------------------------


def _limits(user: User) -> list[ratelimit.Limit]:
    return [(f"mfa:user:{user.pk}", settings.MFA_FAILURES_PER_USER, settings.MFA_WINDOW_SECONDS)]


def _throttled(user: User, request) -> None:
    state = ratelimit.acquire(_limits(user))
    if state.allowed:
        return
    audit.record(
        "user.two_factor_locked",
        organization=_organization_of(user),
        actor_kind="system",
        target=user,
        detail=_where(request),
    )
    minutes = state.retry_after_minutes
    raise ConsoleError(
        ngettext(
            "Too many wrong codes. Try again in %(minutes)d minute.",
            "Too many wrong codes. Try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
        code="throttled",
        retry_after_seconds=state.retry_after_seconds,
    )


def _passed(user: User, method: str, request, *, purpose: str) -> None:
    ratelimit.release(_limits(user))
    audit.record(
        "user.two_factor_passed",
        organization=_organization_of(user),
        actor=user,
        target=user,
        detail={"method": method, "purpose": purpose, **_where(request)},
    )


def _failed(user: User, method: str, request, *, purpose: str) -> None:
    audit.record(
        "user.two_factor_failed",
        organization=_organization_of(user),
        actor_kind="system",
        target=user,
        detail={"method": method, "purpose": purpose, **_where(request)},
    )


def verify_code(*, user: User, code: str, request=None, purpose: str = "sign_in") -> str:
    """Check a code from the authenticator app or a recovery code; returns which it was.
    ConsoleError when it is wrong, already used, or the user made too many guesses."""
    _throttled(user, request)
    now = clock.now()
    device = TotpDevice.objects.filter(user=user).first()
    if device is not None:
        counter = totp.matching_counter(device.secret, code, at=now, after_counter=device.last_counter)
        if counter is not None and TotpDevice.objects.filter(pk=device.pk, last_counter__lt=counter).update(
            last_counter=counter, last_used_at=now
        ):
            _passed(user, "totp", request, purpose=purpose)
            return "totp"
    normalised = totp.normalise_code(code)
    if len(normalised) == 10 and RecoveryCode.objects.filter(
        user=user, digest=_digest(normalised), used_at__isnull=True
    ).update(used_at=now):
        _passed(user, "recovery_code", request, purpose=purpose)
        return "recovery_code"
    _failed(user, "code", request, purpose=purpose)
    raise ConsoleError(
        _("That code is not right, or was already used. Type the code your app shows now, or an unused recovery code."),
        code="wrong_code",
    )


def verify_security_key(*, user: User, credential: str, challenge: bytes, request=None, purpose: str = "sign_in") -> SecurityKey:
    """Check a WebAuthn assertion from one of the user's keys; ConsoleError otherwise."""
    _throttled(user, request)
    refusal = ConsoleError(_("That security key could not be verified. Try again, or use another way."), code="wrong_key")
    try:
        credential_id = keys.credential_id_of(credential)
    except keys.CeremonyFailed:
        _failed(user, "security_key", request, purpose=purpose)
        raise refusal from None
    key = SecurityKey.objects.filter(user=user, credential_id=credential_id).first()
    if key is None:
        _failed(user, "security_key", request, purpose=purpose)
        raise refusal
    try:
        new_count = keys.verify_authentication(
            credential=credential,
            challenge=challenge,
            rp_id=settings.MFA_WEBAUTHN_RP_ID,
            origin=settings.MFA_WEBAUTHN_ORIGIN,
            public_key=bytes(key.public_key),
            sign_count=key.sign_count,
        )
    except keys.CeremonyFailed:
        _failed(user, "security_key", request, purpose=purpose)
        raise refusal from None
    SecurityKey.objects.filter(pk=key.pk).update(sign_count=new_count, last_used_at=clock.now())
    _passed(user, "security_key", request, purpose=purpose)
    return key


# --- Organization policy -------------------------------------------------------------------


@transaction.atomic
def set_policy(*, organization: Organization, required_for_admins: bool, required_for_all: bool, actor: User, request=None) -> Organization:
    """Change who must use two-factor sign-in. Only Owners may."""
    role = Membership.objects.filter(user=actor, organization=organization).values_list("role", flat=True).first()
    if role != Membership.Role.OWNER:
        raise ConsoleError(_("Only an Owner can change the two-factor policy."), code="owner_only")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = {"admins": organization.two_factor_required_for_admins, "all": organization.two_factor_required_for_all}
    after = {"admins": bool(required_for_admins), "all": bool(required_for_all)}
    if before == after:
        return organization
    organization.two_factor_required_for_admins = after["admins"]
    organization.two_factor_required_for_all = after["all"]
    organization.save(update_fields=["two_factor_required_for_admins", "two_factor_required_for_all"])
    audit.record(
        "organization.two_factor_policy_changed",
        organization=organization,
        actor=actor,
        target=organization,
        detail={"from": before, "to": after, **_where(request)},
    )
    return organization


@transaction.atomic
def reset_factors(*, user: User, reason: str) -> dict:
    """An operator's help for a user who lost every factor: remove their app, keys and recovery
    codes. Audited with the reason; under a policy the user is asked to enrol again at sign-in."""
    removed = {
        "totp": TotpDevice.objects.filter(user=user).delete()[0],
        "security_keys": SecurityKey.objects.filter(user=user).delete()[0],
    }
    _refresh_enabled(user)
    audit.record(
        "mfa.factors_reset",
        organization=_organization_of(user),
        actor_kind="operator",
        target=user,
        detail={**removed, "reason": reason[:500]},
    )
    return removed
