"""Sign-up, e-mail verification, password reset and set-password links: how a person gets
and keeps a user of their own.

Each write runs in one transaction, audits with its actor and e-mails only after commit. A
verified address is announced with the `email_verified` signal, so the apps above (auto-add
at a verified domain) react without this app knowing them.

No enumeration: sign-up and password reset give the same answer, and do the same work (one
password hash for sign-up, one queued task for reset), whether or not the address has a user.
Every e-mail they (and invitations) trigger is rate-limited per recipient and per client address.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console import audit, clock, emails, queue, ratelimit
from console.errors import ConsoleError
from console.models import Membership, User, normalise_email
from console.signals import email_verified

RESET_LINK_TASK = "console.send_password_reset"

EMAIL_VERIFICATION_MAX_AGE = timedelta(days=3)
EMAIL_VERIFICATION_SALT = "console.email-verification"


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
    return emails.absolute_url(reverse("console:verify_email", args=[email_verification_token(user)]))


def user_for_verification_token(token: str) -> User:
    """The user a valid, unexpired token names; ConsoleError otherwise."""
    try:
        value = ClockTimestampSigner(salt=EMAIL_VERIFICATION_SALT).unsign(token, max_age=EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ConsoleError(
            _("This verification link has expired (links are valid for %(days)s days). Sign in to get a new one.")
            % {"days": EMAIL_VERIFICATION_MAX_AGE.days},
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
    return emails.absolute_url(reverse("console:set_password", kwargs={"uidb64": uid, "token": token}))


# --- Sign-up and e-mail verification --------------------------------------------------------


@transaction.atomic
def limit_mail(kind: str, *, to: str, client_address: str = "") -> None:
    """Refuse (ConsoleError with the time to retry) once `to`, or the client address, has had
    too many e-mails of this kind in the window. Counted whether or not the address has a user."""
    recipient = hashlib.sha256(normalise_email(to).lower().encode()).hexdigest()[:32]
    window = settings.MAIL_RATE_WINDOW_SECONDS
    limits = [(f"mail:{kind}:to:{recipient}", settings.MAIL_RATE_PER_RECIPIENT, window)]
    if client_address:
        limits.append((f"mail:{kind}:from:{client_address}", settings.MAIL_RATE_PER_ADDRESS, window))
    state = ratelimit.acquire(limits)
    if not state.allowed:
        minutes = state.retry_after_minutes
        raise ConsoleError(
            ngettext(
                "Too many e-mails were requested for this address or from your network. Try again in %(minutes)d minute.",
                "Too many e-mails were requested for this address or from your network. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
            code="rate_limited",
        )


def sign_up(
    *, email: str, password: str, full_name: str = "", language: str = "en", client_address: str = ""
) -> User | None:
    """Create an independent user (e-mail not verified) and send a verification link.

    For an address that already has a user, send a "you already have an account" e-mail
    instead and return None: the caller shows the same page either way, and the password is
    hashed on both paths so the answer takes the same time.
    """
    email = normalise_email(email)
    limit_mail("sign_up", to=email, client_address=client_address)
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        make_password(password)  # the same work as creating a user, so timing tells nothing
        emails.queue_to_user(
            "console_account_exists",
            user=existing,
            params={
                "login_url": emails.absolute_url(reverse("console:login")),
                "reset_url": emails.absolute_url(reverse("console:password_reset")),
            },
        )
        return None
    user = User.objects.create_user(
        email, password=password, full_name=full_name, email_verified=False, language=language
    )
    audit.record("user.signed_up", actor=user, target=user)
    send_verification_email(user=user)
    return user


def send_verification_email(*, user: User, client_address: str = "") -> None:
    limit_mail("verify_email", to=user.email, client_address=client_address)
    emails.queue_to_user("console_verify_email", user=user)


@transaction.atomic
def verify_email(*, token: str, where: dict | None = None) -> User:
    """Mark the address in a valid link verified (idempotent) and announce it (email_verified),
    in the same transaction, so what the receivers change commits or rolls back with it.
    `where`: the client address and user agent of the request, for the audit trail."""
    user = user_for_verification_token(token)
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        audit.record(
            "user.email_verified",
            organization=_organization_of(user),
            actor=user,
            target=user,
            detail={"email": user.email, **(where or {})},
        )
        email_verified.send(sender=User, user=user)
    return user


def request_password_reset(*, email: str, client_address: str = "") -> None:
    """Queue a password-reset link for the address; the worker sends it only if an active user
    with a password has it. The request does the same work either way (no enumeration)."""
    email = normalise_email(email)
    limit_mail("password_reset", to=email, client_address=client_address)
    with transaction.atomic():
        queue.on_commit(RESET_LINK_TASK, email)


def send_password_reset(email: str) -> bool:
    """Send the reset link to the user with this address (links use CONSOLE_BASE_URL, never the
    request's Host header). False when there is no such user to send to."""
    user = User.objects.filter(email__iexact=normalise_email(email), is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    emails.queue_to_user("console_password_reset", user=user)
    audit.record("user.password_reset_sent", actor_kind="system", target=user)
    return True


def _organization_of(user: User):
    membership = Membership.objects.filter(user=user).select_related("organization").first()
    return membership.organization if membership is not None else None


def password_set(*, user: User, reset: bool, where: dict, email_verified_now: bool = False) -> None:
    """Audit a password set through an e-mailed link (`reset`) or changed by the signed-in user,
    with the client address and user agent; a link also proves the address."""
    organization = _organization_of(user)
    action = "user.password_reset" if reset else "user.password_changed"
    audit.record(action, organization=organization, actor=user, target=user, detail=dict(where))
    if email_verified_now:
        audit.record(
            "user.email_verified",
            organization=organization,
            actor=user,
            target=user,
            detail={"email": user.email, "through": "set_password_link", **where},
        )


# --- Links made when the e-mail is sent (the record keeps no token) -----------------------


def _invitation_context(params: dict, user: User | None) -> dict:
    if user is None:
        raise emails.NothingToSend("The invited user no longer exists.")
    return {**params, "set_password_url": set_password_url(user)}


def _verify_email_context(params: dict, user: User | None) -> dict:
    if user is None:
        raise emails.NothingToSend("The user no longer exists.")
    return {"verify_url": email_verification_url(user), "days": EMAIL_VERIFICATION_MAX_AGE.days}


def _password_reset_context(params: dict, user: User | None) -> dict:
    if user is None or not user.is_active or not user.has_usable_password():
        raise emails.NothingToSend("The user no longer exists or has no password to reset.")
    return {"reset_url": set_password_url(user)}


emails.register("console_invitation", _invitation_context)
emails.register("console_verify_email", _verify_email_context)
emails.register("console_password_reset", _password_reset_context)
