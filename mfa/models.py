"""A user's second factors: one authenticator app (TOTP), any number of WebAuthn security keys
and passkeys, and single-use recovery codes (stored as digests only)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from console import clock


class TotpDevice(models.Model):
    """An authenticator app. `last_counter` is the time step of the last code accepted: a code is
    accepted once (RFC 6238 §5.2), so one seen over a shoulder cannot be replayed."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64)
    last_counter = models.BigIntegerField(default=-1)
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"authenticator app of {self.user}"


class SecurityKey(models.Model):
    """A WebAuthn credential: a hardware security key or a passkey."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_keys")
    name = models.CharField(_("name"), max_length=100)
    credential_id = models.BinaryField(unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    # A passkey (synced, multi-device) rather than a key bound to one device.
    is_passkey = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.name


class RecoveryCode(models.Model):
    """One single-use recovery code: only its SHA-256 digest is kept (the codes carry 50 random
    bits each, so a fast digest is safe; they are shown once, when generated)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=clock.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="mfa_recovery_code_unique")]

    def __str__(self):
        return f"recovery code of {self.user}"
