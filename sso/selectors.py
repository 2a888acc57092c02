"""Reads: where an address signs in (home-realm discovery) and whether its password is refused."""

from django.conf import settings
from django.urls import reverse

from console import emails
from console.models import Membership, User, email_domain_of
from domains.checking import resolver_config_from_settings
from domains.models import Domain
from sso import oidc, saml
from sso.models import DomainPolicy, IdentityProvider, SamlServiceProvider


def transport() -> oidc.Transport:
    """The IdP is reached like a domain's HTTPS check: the same resolver, CA bundle and address rules."""
    return oidc.Transport(
        ca_bundle=settings.HTTPS_CA_BUNDLE,
        allow_loopback=settings.HTTPS_ALLOW_LOOPBACK,
        timeout_seconds=settings.SSO_HTTP_TIMEOUT_SECONDS,
        resolver=resolver_config_from_settings(),
    )


def saml_service_provider_for_key(key: str) -> saml.ServiceProvider:
    """Us, as an organization's IdP knows us: entity ID = our metadata URL, the ACS (HTTP-POST).
    From the console's public address, never the Host header."""
    return saml.ServiceProvider(
        entity_id=emails.absolute_url(reverse("sso:saml_metadata", args=[key])),
        acs_url=emails.absolute_url(reverse("sso:saml_acs", args=[key])),
    )


def saml_key_of(organization) -> str:
    return SamlServiceProvider.objects.filter(organization=organization).values_list("key", flat=True).first() or ""


def saml_organization_id_for_key(key: str) -> int | None:
    """The organization a public SAML URL names, None for a key that names none."""
    if not key or len(key) > 32:
        return None
    return SamlServiceProvider.objects.filter(key=key).values_list("organization_id", flat=True).first()


def saml_metadata(provider: IdentityProvider) -> saml.IdentityProviderMetadata:
    return saml.IdentityProviderMetadata(
        entity_id=provider.issuer,
        sso_url=provider.saml_sso_url,
        sso_binding=provider.saml_sso_binding,
        certificates=list(provider.saml_certificates),
        xml=provider.saml_metadata_xml,
    )


def provider_of(organization) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(organization=organization).first()


def route_for_email(email: str) -> IdentityProvider | None:
    """The IdP of the organization that holds the address's domain verified right now, if it has one.

    A domain in re-validation or removed is no route: home-realm discovery stops with the domain.
    """
    domain_name = email_domain_of(email)
    # Typed text, not yet validated: nothing that cannot be a stored domain name reaches a query.
    if not domain_name or len(domain_name) > 253 or "\x00" in domain_name:
        return None
    return (
        IdentityProvider.objects.filter(
            organization__domains__name=domain_name, organization__domains__status=Domain.Status.VERIFIED
        )
        .select_related("organization")
        .first()
    )


def is_break_glass(user: User, provider: IdentityProvider, membership: Membership) -> bool:
    """The Owner who keeps password sign-in: the designated one while they are an Owner,
    otherwise every Owner (so the organization is never locked out of its console)."""
    if membership.role != Membership.Role.OWNER:
        return False
    if provider.break_glass_owner_id is None:
        return True
    designated_is_owner = Membership.objects.filter(
        user_id=provider.break_glass_owner_id, organization_id=membership.organization_id, role=Membership.Role.OWNER
    ).exists()
    return provider.break_glass_owner_id == user.pk or not designated_is_owner


def enforced_policy_for(user: User) -> DomainPolicy | None:
    """The policy that makes this managed user sign in through the IdP, or None.

    In force only while the user's address is at a verified domain of their own organization
    that requires SSO, and the organization has an IdP; the break-glass Owner is exempt.
    """
    membership = Membership.objects.filter(user=user).only("organization_id", "role").first()
    if membership is None:
        return None
    policy = (
        DomainPolicy.objects.in_force()
        .filter(domain__organization_id=membership.organization_id, domain__name=user.email_domain)
        .select_related("domain__organization__identity_provider")
        .first()
    )
    if policy is None:
        return None
    if is_break_glass(user, policy.domain.organization.identity_provider, membership):
        return None
    return policy


def domains_with_policies(organization) -> list[Domain]:
    """The organization's domains that are not removed, each with `.sso_required` (False when no policy)."""
    domains = list(Domain.objects.active().filter(organization=organization).select_related("sso_policy"))
    for domain in domains:
        policy = getattr(domain, "sso_policy", None)
        domain.sso_required = bool(policy and policy.require_sso)
    return domains
