"""An organization's identity provider and, per verified domain, whether SSO is required.

Routing (home-realm discovery) and enforcement are read live from the domain's status: only a
domain that is *verified* right now routes to the IdP or refuses passwords, so a domain that
lapses or is removed suspends both at once, whatever the flag says.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from console import clock
from console.models import Organization
from domains.models import Domain


class IdentityProvider(models.Model):
    """The organization's OpenID Connect provider (one per organization)."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="identity_provider")
    issuer = models.URLField(_("issuer"), max_length=500)
    client_id = models.CharField(_("client ID"), max_length=255)
    # Fernet token (sso.crypto); the plain secret is never stored or shown again.
    client_secret_encrypted = models.TextField()
    # From the issuer's discovery document, fetched when the configuration is saved.
    authorization_endpoint = models.URLField(max_length=500)
    token_endpoint = models.URLField(max_length=500)
    jwks_uri = models.URLField(max_length=500)
    jit_provisioning = models.BooleanField(
        _("create users at their first sign-in (just-in-time provisioning)"), default=False
    )
    # Keeps password sign-in while SSO is required; when unset or no longer an Owner, every Owner does.
    break_glass_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self):
        return self.issuer


class DomainPolicyQuerySet(models.QuerySet):
    def in_force(self):
        """Requiring SSO right now: the flag on, the domain verified, the organization has an IdP."""
        return self.filter(
            Q(require_sso=True)
            & Q(domain__status=Domain.Status.VERIFIED)
            & Q(domain__organization__identity_provider__isnull=False)
        )


class DomainPolicy(models.Model):
    """Whether managed users at a verified domain must sign in through the IdP."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="sso_policy")
    require_sso = models.BooleanField(_("require single sign-on"), default=False)
    changed_at = models.DateTimeField(default=clock.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = DomainPolicyQuerySet.as_manager()

    def __str__(self):
        return f"{self.domain}: {'SSO required' if self.require_sso else 'password allowed'}"
