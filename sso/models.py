"""An organization's identity provider and, per verified domain, whether SSO is required.

Routing (home-realm discovery) and enforcement are read live from the domain's status: only a
domain that is *verified* right now routes to the IdP or refuses passwords, so a domain that
lapses or is removed suspends both at once, whatever the flag says.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from console import clock
from console.models import Organization
from domains.models import Domain


class IdentityProvider(models.Model):
    """The organization's identity provider (one per organization): OpenID Connect or SAML 2.0."""

    class Protocol(models.TextChoices):
        OIDC = "oidc", _("OpenID Connect")
        SAML = "saml", _("SAML 2.0")

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="identity_provider")
    protocol = models.CharField(_("protocol"), max_length=8, choices=Protocol.choices, default=Protocol.OIDC)
    # Who asserts: the OIDC issuer URL, or the SAML IdP's entity ID (often a URL, may be a URN).
    issuer = models.CharField(_("issuer"), max_length=500)
    client_id = models.CharField(_("client ID"), max_length=255, blank=True)
    # Fernet token (sso.crypto); the plain secret is never stored or shown again.
    client_secret_encrypted = models.TextField(blank=True)
    # From the issuer's discovery document, fetched when the configuration is saved.
    authorization_endpoint = models.URLField(max_length=500, blank=True)
    token_endpoint = models.URLField(max_length=500, blank=True)
    jwks_uri = models.URLField(max_length=500, blank=True)
    # SAML: from the IdP's metadata (by URL or uploaded), read when the configuration is saved.
    saml_sso_url = models.URLField(_("SAML single sign-on URL"), max_length=1000, blank=True)
    saml_sso_binding = models.CharField(max_length=100, blank=True)
    saml_certificates = models.JSONField(default=list, blank=True)  # base64 DER signing certificates
    saml_metadata_url = models.URLField(_("SAML metadata URL"), max_length=1000, blank=True)
    saml_metadata_xml = models.TextField(blank=True)
    saml_metadata_fetched_at = models.DateTimeField(null=True, blank=True)
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


def new_service_provider_key() -> str:
    return secrets.token_urlsafe(16)


class SamlServiceProvider(models.Model):
    """Us, as the organization's SAML IdP knows us. The key names us in our entity ID and ACS URL:
    random, so those public URLs neither count nor name organizations, and fixed for good (the
    IdP has them)."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="saml_service_provider")
    key = models.SlugField(max_length=32, unique=True, default=new_service_provider_key)
    created_at = models.DateTimeField(default=clock.now)

    def __str__(self):
        return self.key


class SamlRequest(models.Model):
    """An AuthnRequest we sent and have not had answered: a Response must name one (InResponseTo),
    and answering it uses it up."""

    request_id = models.CharField(max_length=100, primary_key=True)
    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="+")
    next_url = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    def __str__(self):
        return self.request_id


class SamlAssertionSeen(models.Model):
    """An assertion ID already accepted, kept until its NotOnOrAfter so a replay of it is refused."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="+")
    assertion_id = models.CharField(max_length=255)
    not_on_or_after = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "assertion_id"], name="sso_saml_assertion_once")]

    def __str__(self):
        return self.assertion_id
