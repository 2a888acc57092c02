"""Creating, finding and revoking organization API tokens.

Format: `adc_live_` + 40 base62 characters (238 random bits) + a 6-character base62 CRC32 of
them. The fixed prefix lets secret scanners recognise a leaked token; the checksum lets a
scanner (and we) discard look-alikes without a database lookup.

Storage: only HMAC-SHA256(API_TOKEN_HASH_KEY, token). A password hasher (PBKDF2, Argon2)
is made slow and salted because passwords are guessable; a token has 238 random bits, so no
guessing attack exists for slowness to slow down, and a slow hash on every API request would
only cost CPU (and hand attackers a cheap way to load the servers). A fast keyed hash keeps
the lookup a single indexed equality (no per-token salt to try), and the key, kept out of
the database, means a leaked database dump alone cannot even confirm a guessed token.
"""

import hashlib
import hmac
import secrets
import string
import zlib
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from api.models import ApiToken, Scope
from console import audit, clock, events
from console.errors import ConsoleError
from console.models import AuditEvent, Membership, Organization, User

ALPHABET = string.digits + string.ascii_letters  # base62
RANDOM_LENGTH = 40
CHECKSUM_LENGTH = 6
DISPLAY_LENGTH = 4  # random characters kept for display after the prefix


def _base62(number: int, length: int) -> str:
    digits = []
    for _position in range(length):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def new_secret() -> str:
    body = "".join(secrets.choice(ALPHABET) for _position in range(RANDOM_LENGTH))
    return f"{settings.API_TOKEN_PREFIX}{body}{_checksum(body)}"


def well_formed(token: str) -> bool:
    """Prefix, length, alphabet and checksum: a look-alike is refused without a lookup."""
    prefix = settings.API_TOKEN_PREFIX
    if not token.startswith(prefix) or len(token) != len(prefix) + RANDOM_LENGTH + CHECKSUM_LENGTH:
        return False
    rest = token[len(prefix) :]
    if any(character not in ALPHABET for character in rest):
        return False
    body, checksum = rest[:RANDOM_LENGTH], rest[RANDOM_LENGTH:]
    return hmac.compare_digest(_checksum(body), checksum)


def digest(token: str) -> str:
    key = settings.API_TOKEN_HASH_KEY.encode()
    return hmac.new(key, token.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def clean_scopes(scopes) -> list[str]:
    """The requested scopes in their canonical order; refuses none and unknown ones."""
    requested = {str(scope).strip() for scope in scopes or [] if str(scope).strip()}
    unknown = requested - set(Scope.values)
    if unknown:
        raise ConsoleError(
            _("Unknown scope: %(scopes)s. Choose from: %(known)s.")
            % {"scopes": ", ".join(sorted(unknown)), "known": ", ".join(Scope.values)},
            code="invalid_scope",
        )
    if not requested:
        raise ConsoleError(_("Choose at least one scope."), code="invalid_scope")
    return [scope for scope in Scope.values if scope in requested]


def require_admin(user: User | None, organization: Organization) -> None:
    """Tokens are made and revoked by the organization's Owners and Administrators."""
    if user is None:
        return  # an operator
    role = Membership.objects.filter(user=user, organization=organization).values_list("role", flat=True).first()
    if role not in Membership.ADMIN_ROLES:
        raise ConsoleError(_("Only Owners and Administrators manage API tokens."), code="not_admin")


def create_token(
    *,
    organization: Organization,
    name: str,
    scopes,
    created_by: User,
    expires_at: datetime | None = None,
    actor: User | None = None,
) -> tuple[ApiToken, str]:
    """Create a token acting for `created_by`; returns (token, secret). The secret is not stored.

    `actor` is who asked (None: an operator); audited with the token as target.
    """
    name = (name or "").strip()
    if not name:
        raise ConsoleError(_("Give the token a name, for example the pipeline that uses it."), code="invalid_name")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ConsoleError(_("Use a name of at most 100 characters."), code="invalid_name")
    scopes = clean_scopes(scopes)
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise ConsoleError(_("Choose an expiry date in the future, or none."), code="invalid_expiry")
    require_admin(actor, organization)
    if not Membership.objects.filter(user=created_by, organization=organization, role__in=Membership.ADMIN_ROLES).exists():
        raise ConsoleError(
            _("%(email)s is not an Owner or Administrator of this organization.") % {"email": created_by.email},
            code="not_admin",
        )
    secret = new_secret()
    with transaction.atomic():
        token = ApiToken.objects.create(
            organization=organization,
            name=name,
            scopes=scopes,
            digest=digest(secret),
            display_prefix=secret[: len(settings.API_TOKEN_PREFIX) + DISPLAY_LENGTH],
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
        audit.record(
            "api_token.created",
            organization=organization,
            actor=actor,
            actor_kind=None if actor is not None else AuditEvent.ActorKind.OPERATOR,
            target=token,
            detail={
                **token.audit_detail(),
                "scopes": scopes,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "acts_for": created_by.email,
            },
        )
        events.emit(
            events.API_TOKEN_CREATED,
            organization_id=organization.pk,
            data={**token.audit_detail(), "scopes": scopes, "expires_at": events.iso(expires_at), "acts_for": created_by.email},
        )
    return token, secret


def revoke_token(*, token: ApiToken, actor: User | None) -> ApiToken:
    """Revoke a token at once (idempotent: a revoked token stays revoked, audited once)."""
    require_admin(actor, token.organization)
    now = clock.now()
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
        token.refresh_from_db()
        if updated:
            audit.record(
                "api_token.revoked",
                organization=token.organization,
                actor=actor,
                actor_kind=None if actor is not None else AuditEvent.ActorKind.OPERATOR,
                target=token,
                detail=token.audit_detail(),
            )
            events.emit(events.API_TOKEN_REVOKED, organization_id=token.organization_id, data=token.audit_detail())
    return token


class TokenRefused(Exception):
    """Why a presented token does not authenticate, in words for the client."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def authenticate(secret: str) -> ApiToken:
    """The active token for `secret`, with its organization and creator loaded; TokenRefused otherwise.

    A token acts for its creator, so it stops working once the creator is no longer an Owner or
    Administrator of the token's organization (left, removed or demoted).
    """
    if not well_formed(secret):
        raise TokenRefused(_("The API token is not valid."))
    token = (
        ApiToken.objects.select_related("organization", "created_by__membership")
        .filter(digest=digest(secret))
        .first()
    )
    if token is None:
        raise TokenRefused(_("The API token is not valid."))
    now = clock.now()
    if token.revoked_at is not None:
        raise TokenRefused(_("This API token has been revoked."))
    if token.is_expired(now):
        raise TokenRefused(_("This API token has expired."))
    creator = token.created_by
    membership = getattr(creator, "membership", None) if creator is not None else None
    if (
        creator is None
        or not creator.is_active
        or membership is None
        or membership.organization_id != token.organization_id
        or not membership.is_admin
    ):
        raise TokenRefused(
            _(
                "The person who created this API token is no longer an Owner or Administrator of the "
                "organization. Create a new token."
            )
        )
    _touch(token, now)
    return token


def _touch(token: ApiToken, now) -> None:
    """Record use at most once a minute, so reads do not each write a row."""
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def tokens_of(*, organization: Organization):
    return ApiToken.objects.filter(organization=organization).select_related("created_by", "revoked_by")
