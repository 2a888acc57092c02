"""Writes for single sign-on: the organization's IdP (OpenID Connect or SAML 2.0), SSO required
per verified domain, the break-glass Owner, and completing a sign-in (with just-in-time
provisioning). Each change is audited with its actor; the client secret never appears in the
audit trail.
"""

import hashlib
from base64 import b64decode
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console import audit, clock
from console.errors import ConsoleError
from console.models import Membership, Organization, User, email_domain_of, normalise_email
from console.services import make_one_managed, send_added
from domains.admission import admission
from domains.models import Domain
from sso import crypto, oidc, saml, selectors, signing_keys
from sso.models import DomainPolicy, IdentityProvider, SamlAssertionSeen, SamlRequest, SamlServiceProvider

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
    if (existing is None or existing.protocol != IdentityProvider.Protocol.OIDC) and not client_secret:
        raise ConsoleError(_("Enter the client secret."), code="secret_required")
    try:
        metadata = oidc.discover(issuer, selectors.transport())
    except oidc.OidcError as error:
        raise ConsoleError(problem_message(error), code=error.reason) from error
    provider = existing or IdentityProvider(organization=organization, created_at=clock.now())
    if provider.protocol != IdentityProvider.Protocol.OIDC:
        _clear_protocol_fields(provider)
    provider.protocol = IdentityProvider.Protocol.OIDC
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
            "protocol": provider.protocol,
            "issuer": provider.issuer,
            "client_id": provider.client_id,
            "client_secret_changed": bool(client_secret),
            "jit_provisioning": jit_provisioning,
        },
    )
    return provider


SAML_PROBLEMS = {
    "not_https": gettext_lazy("The metadata URL and the identity provider's sign-on URL must be https:// addresses."),
    "forbidden_address": gettext_lazy("The metadata URL's address is on a private or reserved network, which we never contact."),
    "unreachable": gettext_lazy("We could not reach the metadata URL. Check the address and try again."),
    "bad_status": gettext_lazy("The metadata URL did not return a document (it must answer directly, without a redirect)."),
    "too_large": gettext_lazy("The metadata document is too large (at most 1 MB)."),
    "not_xml": gettext_lazy("The metadata is not an XML document."),
    "dtd_forbidden": gettext_lazy("The metadata contains a DTD or entity declarations, which we refuse."),
    "bad_metadata": gettext_lazy("The metadata is not valid SAML 2.0 metadata, or it has expired (validUntil)."),
    "not_one_idp": gettext_lazy("The metadata must describe exactly one identity provider (IDPSSODescriptor)."),
    "no_redirect_binding": gettext_lazy("The identity provider offers no single sign-on URL with the HTTP-Redirect binding, which we use."),
    "no_signing_certificate": gettext_lazy("The metadata has no signing certificate, so we could not check the identity provider's signatures."),
    "no_xmlsec": gettext_lazy("SAML is not available on this server (the xmlsec1 program is missing)."),
}


def saml_problem_message(error: saml.SamlError) -> str:
    return str(SAML_PROBLEMS.get(error.reason, _("The identity provider's metadata could not be used.")))


def _clear_protocol_fields(provider: IdentityProvider) -> None:
    """One provider per organization: switching protocol leaves nothing of the other behind."""
    provider.client_id = provider.client_secret_encrypted = ""
    provider.authorization_endpoint = provider.token_endpoint = provider.jwks_uri = ""
    provider.saml_sso_url = provider.saml_sso_binding = provider.saml_metadata_url = provider.saml_metadata_xml = ""
    provider.saml_certificates = []
    provider.saml_metadata_fetched_at = None


def certificate_fingerprint(certificate: str) -> str:
    """SHA-256 of the DER certificate, as IdP consoles show it (AB:CD:…)."""
    digest = hashlib.sha256(b64decode("".join(certificate.split()))).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@transaction.atomic
def save_saml_provider(
    *, organization: Organization, metadata_url: str, metadata_xml: bytes | None, jit_provisioning: bool, actor: User
) -> IdentityProvider:
    """Configure (or change) the organization's SAML 2.0 IdP from its metadata: fetched from
    `metadata_url` over vetted HTTPS, or uploaded (`metadata_xml`). ConsoleError when it cannot be used.
    """
    if metadata_xml is None and not metadata_url:
        raise ConsoleError(_("Enter the metadata URL or upload the metadata file."), code="metadata_required")
    try:
        document = metadata_xml if metadata_xml is not None else saml.fetch_metadata(metadata_url, selectors.transport())
        metadata = saml.parse_metadata(document)
    except saml.SamlError as error:
        raise ConsoleError(saml_problem_message(error), code=error.reason) from error
    existing = IdentityProvider.objects.select_for_update().filter(organization=organization).first()
    provider = existing or IdentityProvider(organization=organization, created_at=clock.now())
    _clear_protocol_fields(provider)
    provider.protocol = IdentityProvider.Protocol.SAML
    provider.issuer = metadata.entity_id
    provider.saml_sso_url = metadata.sso_url
    provider.saml_sso_binding = metadata.sso_binding
    provider.saml_certificates = metadata.certificates
    provider.saml_metadata_url = metadata_url if metadata_xml is None else ""
    provider.saml_metadata_xml = metadata.xml
    provider.saml_metadata_fetched_at = clock.now()
    provider.jit_provisioning = jit_provisioning
    provider.updated_at = clock.now()
    provider.save()
    audit.record(
        "sso.configured" if existing is None else "sso.changed",
        organization=organization,
        actor=actor,
        target=provider,
        detail={
            "protocol": provider.protocol,
            "issuer": provider.issuer,
            "sso_url": provider.saml_sso_url,
            "metadata_source": "upload" if metadata_xml is not None else "url",
            "metadata_url": provider.saml_metadata_url,
            "certificates": [certificate_fingerprint(certificate) for certificate in provider.saml_certificates],
            "jit_provisioning": jit_provisioning,
        },
    )
    return provider


def saml_service_provider(organization: Organization) -> saml.ServiceProvider:
    """Us, for the organization's SAML IdP. Our key is made at first use and never changes."""
    row, _created = SamlServiceProvider.objects.get_or_create(organization=organization)
    return selectors.saml_service_provider_for_key(row.key)


def start_saml_sign_in(*, provider: IdentityProvider, next_url: str) -> tuple[str, str]:
    """Record an outstanding AuthnRequest to the provider; (its ID, the IdP URL to send the browser to)."""
    request_id, url = saml.authn_request(
        saml_service_provider(provider.organization), selectors.saml_metadata(provider)
    )
    too_old = clock.now() - timedelta(seconds=settings.SSO_FLOW_MAX_AGE_SECONDS)
    SamlRequest.objects.filter(created_at__lt=too_old).delete()
    SamlRequest.objects.create(request_id=request_id, provider=provider, next_url=next_url, created_at=clock.now())
    return request_id, url


def take_saml_request(*, request_id: str, provider: IdentityProvider) -> SamlRequest | None:
    """Use up our outstanding request: None when it is unknown, already answered or too old."""
    outstanding = SamlRequest.objects.filter(pk=request_id, provider=provider).first()
    if outstanding is None:
        return None
    deleted, _counts = SamlRequest.objects.filter(pk=request_id).delete()
    if not deleted:  # another request answered it first
        return None
    if (clock.now() - outstanding.created_at).total_seconds() > settings.SSO_FLOW_MAX_AGE_SECONDS:
        return None
    return outstanding


def record_saml_refused(*, provider: IdentityProvider, reason: str, detail: str = "") -> None:
    audit.record(
        "sso.signin_refused",
        organization=provider.organization,
        actor_kind="system",
        detail={"reason": reason, "detail": detail[:300], "issuer": provider.issuer, "protocol": "saml"},
    )


SAML_CLOCK_SKEW = timedelta(seconds=60)


def accept_saml_response(*, provider: IdentityProvider, outstanding: SamlRequest, saml_response: str) -> User:
    """The user a genuine SAML Response to our outstanding request signs in.

    pysaml2 checks the assertion's signature (the certificates in the IdP's metadata), issuer,
    audience, recipient and InResponseTo; here its validity window is checked on the project
    clock, and its ID is accepted once only. The sign-in rule itself is complete_sign_in's.
    """
    try:
        assertion = saml.parse_response(
            saml_service_provider(provider.organization),
            selectors.saml_metadata(provider),
            saml_response,
            request_id=outstanding.request_id,
        )
    except saml.SamlError as error:
        record_saml_refused(provider=provider, reason=error.reason, detail=error.detail)
        raise SignInRefused(str(UNVERIFIED_ANSWER), code=error.reason) from error
    now = clock.now()
    problem = ""
    if assertion.issuer != provider.issuer:
        problem = "wrong_issuer"
    elif assertion.not_on_or_after is None or assertion.not_on_or_after <= now - SAML_CLOCK_SKEW:
        problem = "expired"
    elif assertion.not_before is not None and assertion.not_before > now + SAML_CLOCK_SKEW:
        problem = "not_yet_valid"
    if problem:
        record_saml_refused(provider=provider, reason=problem, detail=assertion.assertion_id)
        raise SignInRefused(str(UNVERIFIED_ANSWER), code=problem)
    if not _first_use(provider, assertion, now=now):
        record_saml_refused(provider=provider, reason="replayed", detail=assertion.assertion_id)
        raise SignInRefused(str(UNVERIFIED_ANSWER), code="replayed")
    return complete_sign_in(provider=provider, claims=saml.claims(assertion))


def _first_use(provider: IdentityProvider, assertion: saml.Assertion, *, now) -> bool:
    """Remember the assertion ID until it expires; False when it was accepted before."""
    SamlAssertionSeen.objects.filter(not_on_or_after__lt=now - SAML_CLOCK_SKEW).delete()
    try:
        with transaction.atomic():
            SamlAssertionSeen.objects.create(
                provider=provider,
                assertion_id=assertion.assertion_id[:255],
                not_on_or_after=assertion.not_on_or_after + SAML_CLOCK_SKEW,
            )
    except IntegrityError:
        return False
    return True


UNVERIFIED_ANSWER = gettext_lazy(
    "Your identity provider's answer could not be verified, so you were not signed in. Start again."
)


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
    """The user a verified ID token or SAML assertion signs in, provisioning them when the organization allows.

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
