"""Writes for single sign-on: the organization's IdP, SSO required per verified domain, the
break-glass Owner, and completing a sign-in (with just-in-time provisioning). Each change is
audited with its actor; the client secret never appears in the audit trail.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console import audit, clock
from console.errors import ConsoleError
from console.models import Membership, Organization, User, email_domain_of, normalise_email
from console.services import make_one_managed, send_added
from domains.admission import admission
from domains.models import Domain
from sso import crypto, oidc, selectors, signing_keys
from sso.models import DomainPolicy, IdentityProvider

OIDC_PROBLEMS = {
    "not_https": gettext_lazy("The issuer and its endpoints must be https:// addresses."),
    "forbidden_address": gettext_lazy("The issuer's address is on a private or reserved network, which we never contact."),
    "unreachable": gettext_lazy("We could not reach the issuer. Check the address and try again."),
    "bad_status": gettext_lazy("The issuer did not return its OpenID configuration (/.well-known/openid-configuration)."),
    "not_json": gettext_lazy("The issuer's OpenID configuration is not a JSON document."),
    "too_large": gettext_lazy("The issuer's OpenID configuration is too large."),
    "issuer_mismatch": gettext_lazy("The OpenID configuration names a different issuer. Enter the issuer exactly as your identity provider shows it."),
    "incomplete_discovery": gettext_lazy("The OpenID configuration lacks an https:// authorization, token or JWKS endpoint."),
    "no_pkce": gettext_lazy("The identity provider does not support PKCE with S256, which we require."),
}


def problem_message(error: oidc.OidcError) -> str:
    return str(OIDC_PROBLEMS.get(error.reason, _("The identity provider could not be used.")))


@transaction.atomic
def save_provider(
    *, organization: Organization, issuer: str, client_id: str, client_secret: str, jit_provisioning: bool, actor: User
) -> IdentityProvider:
    """Configure (or change) the organization's OIDC provider from its discovery document.

    An empty `client_secret` keeps the stored one. ConsoleError when discovery fails.
    """
    existing = IdentityProvider.objects.select_for_update().filter(organization=organization).first()
    if existing is None and not client_secret:
        raise ConsoleError(_("Enter the client secret."), code="secret_required")
    try:
        metadata = oidc.discover(issuer, selectors.transport())
    except oidc.OidcError as error:
        raise ConsoleError(problem_message(error), code=error.reason) from error
    provider = existing or IdentityProvider(organization=organization, created_at=clock.now())
    provider.issuer = metadata.issuer
    provider.client_id = client_id.strip()
    if client_secret:
        provider.client_secret_encrypted = crypto.encrypt(client_secret)
    provider.authorization_endpoint = metadata.authorization_endpoint
    provider.token_endpoint = metadata.token_endpoint
    provider.jwks_uri = metadata.jwks_uri
    provider.jit_provisioning = jit_provisioning
    provider.updated_at = clock.now()
    provider.save()
    signing_keys.forget(provider)  # keys of a reconfigured provider are fetched afresh
    audit.record(
        "sso.configured" if existing is None else "sso.changed",
        organization=organization,
        actor=actor,
        target=provider,
        detail={
            "issuer": provider.issuer,
            "client_id": provider.client_id,
            "client_secret_changed": bool(client_secret),
            "jit_provisioning": jit_provisioning,
        },
    )
    return provider


@transaction.atomic
def remove_provider(*, organization: Organization, actor: User) -> None:
    """Delete the IdP configuration; every domain's SSO requirement is switched off with it."""
    provider = IdentityProvider.objects.select_for_update().filter(organization=organization).first()
    if provider is None:
        raise ConsoleError(_("Single sign-on is not configured."), code="not_configured")
    released = list(
        DomainPolicy.objects.filter(domain__organization=organization, require_sso=True).values_list(
            "domain__name", flat=True
        )
    )
    DomainPolicy.objects.filter(domain__organization=organization).update(
        require_sso=False, changed_at=clock.now(), changed_by=actor
    )
    audit.record(
        "sso.removed",
        organization=organization,
        actor=actor,
        target=provider,
        detail={"issuer": provider.issuer, "sso_no_longer_required_at": released},
    )
    signing_keys.forget(provider)
    provider.delete()


@transaction.atomic
def set_domain_requirement(*, domain: Domain, require_sso: bool, actor: User) -> DomainPolicy:
    """Require (or stop requiring) SSO for the managed users at a verified domain.

    Requiring it needs an IdP and a verified domain, and designates the acting Owner as the
    break-glass Owner when there is none yet (so one Owner always keeps password sign-in).
    """
    provider = IdentityProvider.objects.select_for_update().filter(organization_id=domain.organization_id).first()
    if require_sso:
        if provider is None:
            raise ConsoleError(_("Configure your identity provider first."), code="not_configured")
        if domain.status != Domain.Status.VERIFIED:
            raise ConsoleError(
                _("%(domain)s is not verified, so single sign-on cannot be required for it.") % {"domain": domain},
                code="domain_not_verified",
            )
    policy, _created = DomainPolicy.objects.select_for_update().get_or_create(domain=domain)
    if policy.require_sso == require_sso:
        return policy
    policy.require_sso = require_sso
    policy.changed_at = clock.now()
    policy.changed_by = actor
    policy.save()
    audit.record(
        "sso.enforcement_changed",
        organization=domain.organization,
        actor=actor,
        target=domain,
        detail={"domain": domain.name, "require_sso": require_sso},
    )
    if require_sso and provider.break_glass_owner_id is None:
        _designate_break_glass(provider, actor, actor=actor, reason="first domain requiring SSO")
    return policy


def _designate_break_glass(provider: IdentityProvider, owner: User, *, actor: User, reason: str) -> None:
    provider.break_glass_owner = owner
    provider.save(update_fields=["break_glass_owner"])
    audit.record(
        "sso.break_glass_owner_set",
        organization=provider.organization,
        actor=actor,
        target=owner,
        detail={"owner": owner.email, "reason": reason},
    )


@transaction.atomic
def set_break_glass_owner(*, organization: Organization, owner: User, actor: User) -> None:
    """Designate which Owner keeps password sign-in while SSO is required."""
    provider = IdentityProvider.objects.select_for_update().filter(organization=organization).first()
    if provider is None:
        raise ConsoleError(_("Configure your identity provider first."), code="not_configured")
    if not Membership.objects.filter(user=owner, organization=organization, role=Membership.Role.OWNER).exists():
        raise ConsoleError(_("Choose an Owner of this organization."), code="not_owner")
    if provider.break_glass_owner_id != owner.pk:
        _designate_break_glass(provider, owner, actor=actor, reason="chosen by an Owner")


class SignInRefused(ConsoleError):
    pass


REFUSALS = {
    "no_email": gettext_lazy("Your identity provider did not tell us your e-mail address. Ask your administrator to release the email claim."),
    "email_not_verified": gettext_lazy("Your identity provider says your e-mail address is not verified."),
    "domain_not_verified": gettext_lazy(
        "%(email)s is not at a verified domain of %(organization)s, so its identity provider cannot sign you in here."
    ),
    "managed_elsewhere": gettext_lazy("%(email)s is a managed user of another organization."),
    "not_a_member": gettext_lazy(
        "%(email)s is not a user of %(organization)s yet. Ask an administrator of your organization to add you."
    ),
    "deactivated": gettext_lazy("%(email)s is deactivated."),
}


def _refuse(code: str, *, provider: IdentityProvider, email: str, user: User | None = None, message: str = "", **detail):
    audit.record(
        "sso.signin_refused",
        organization=provider.organization,
        actor_kind="system",
        target=user,
        detail={"email": email[:254], "reason": code, "issuer": provider.issuer, **detail},
    )
    message = message or str(REFUSALS.get(code, REFUSALS["not_a_member"])) % {
        "email": email,
        "organization": provider.organization.name,
    }
    raise SignInRefused(message, code=code)


def complete_sign_in(*, provider: IdentityProvider, claims: dict) -> User:
    """The user a verified ID token signs in, provisioning them when the organization allows.

    Refuses (SignInRefused, audited) an address at a domain the organization does not hold
    verified right now, whatever the IdP asserts, and anyone managed by another organization.
    """
    email = normalise_email(str(claims.get("email") or ""))
    if "@" not in email:
        _refuse("no_email", provider=provider, email=str(claims.get("sub", "")))
    if claims.get("email_verified") is False:
        _refuse("email_not_verified", provider=provider, email=email)
    organization = provider.organization
    domain_name = email_domain_of(email)
    if not Domain.objects.filter(organization=organization, name=domain_name, status=Domain.Status.VERIFIED).exists():
        _refuse("domain_not_verified", provider=provider, email=email, domain=domain_name)
    user = User.objects.filter(email__iexact=email).select_related("membership").first()
    membership = getattr(user, "membership", None) if user is not None else None
    if membership is not None and membership.organization_id != organization.pk:
        _refuse("managed_elsewhere", provider=provider, email=email, user=user)
    if user is not None and not user.is_active:
        _refuse("deactivated", provider=provider, email=email, user=user)
    if membership is not None:
        return user
    if not provider.jit_provisioning:
        _refuse("not_a_member", provider=provider, email=email, user=user)
    try:
        return _provision(provider=provider, email=email, user=user, claims=claims)
    except ConsoleError as error:
        _refuse(error.code, provider=provider, email=email, user=user, message=error.message)


@transaction.atomic
def _provision(*, provider: IdentityProvider, email: str, user: User | None, claims: dict) -> User:
    """Just-in-time provisioning: through the one admission rule, then make_managed."""
    organization = provider.organization
    created = user is None
    if created:
        user = User.objects.create_user(
            email, password=None, email_verified=True, full_name=str(claims.get("name") or "")[:150]
        )
    elif not user.email_verified:
        # The IdP of the organization holding the domain vouches for the address.
        User.objects.filter(pk=user.pk).update(email_verified=True)
        user.email_verified = True
    verdict = admission(organization, email, user=user)
    if not verdict.allowed:
        raise ConsoleError(verdict.reason, code=verdict.code or "refused")
    make_one_managed(
        user=user, organization=organization, joined_via=Membership.JoinedVia.SSO, via_domain=email_domain_of(email)
    )
    audit.record(
        "sso.user_provisioned",
        organization=organization,
        actor_kind="system",
        target=user,
        detail={"email": email, "issuer": provider.issuer, "new_user": created},
    )
    if not created:
        send_added(user, organization)
    return user


def record_signed_in(*, provider: IdentityProvider, user: User, address: str) -> None:
    audit.record(
        "sso.signed_in",
        organization=provider.organization,
        actor=user,
        target=user,
        detail={"issuer": provider.issuer, "address": address},
    )


def record_break_glass_sign_in(*, user: User, organization: Organization, address: str) -> None:
    audit.record(
        "sso.break_glass_signin",
        organization=organization,
        actor=user,
        target=user,
        detail={"address": address},
    )


def record_password_refused(*, user: User, policy: DomainPolicy, address: str) -> None:
    audit.record(
        "sso.password_refused",
        organization=policy.domain.organization,
        actor_kind="system",
        target=user,
        detail={"domain": policy.domain.name, "address": address},
    )
