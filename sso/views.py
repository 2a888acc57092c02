"""Single sign-on pages: the sign-in page with home-realm discovery, the OIDC and SAML round
trips, and the Owner's settings (identity provider, SSO required per verified domain,
break-glass Owner)."""

import secrets
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import audit, clock, emails
from console.client import client_address
from console.errors import ConsoleError
from console.models import Membership
from console.permissions import admin_required, get_for_organization
from domains.models import Domain
from sso import crypto, oidc, saml, selectors, services, signing_keys
from sso.backends import SignInForm
from sso.forms import BreakGlassForm, DiscoveryForm, ProviderForm, SamlProviderForm
from sso.models import IdentityProvider

SAML_REQUEST_COOKIE = "sso_saml_request"
SAML_REQUEST_SALT = "sso.saml.request"
FLOWS_KEY = "sso_flows"
MAX_FLOWS = 5  # sign-ins started in one browser session and not finished yet


def owner_required(view):
    """Owners only (after admin_required): an Administrator sees the page explained, 403."""

    @admin_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.membership.role != Membership.Role.OWNER:
            return render(request, "sso/owner_only.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def callback_url() -> str:
    """The redirect URI registered at the IdP: the console's public address, never the Host header."""
    return emails.absolute_url(reverse("sso:oidc_callback"))


# --- Sign-in ----------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """The sign-in page. An address whose verified domain's organization has SSO goes to its IdP
    when no password is given or "Continue with single sign-on" is chosen (works without script)."""

    template_name = "registration/login.html"
    authentication_form = SignInForm

    def post(self, request, *args, **kwargs):
        wants_sso = "sso" in request.POST or not request.POST.get("password")
        email = (request.POST.get("username") or "").strip()
        if wants_sso and email:
            provider = selectors.route_for_email(email)
            if provider is not None:
                return _start_flow(request, provider, email=email, next_url=self.get_redirect_url())
            if "sso" in request.POST:
                # An unbound form: choosing SSO never has a typed password checked.
                form = self.get_form_class()(request, initial={"username": email})
                message = _("There is no single sign-on for this address. Sign in with your password.")
                return self.render_to_response(self.get_context_data(form=form, sso_message=message))
        return super().post(request, *args, **kwargs)


@require_http_methods(["GET", "POST"])
def start(request):
    """Start an SSO sign-in for an address (the link shown when a password was refused)."""
    form = DiscoveryForm(request.POST or request.GET or None)
    if form.is_valid():
        provider = selectors.route_for_email(form.cleaned_data["email"])
        if provider is not None:
            return _start_flow(request, provider, email=form.cleaned_data["email"], next_url="")
        form.add_error("email", _("There is no single sign-on for this address. Sign in with your password."))
    return render(request, "sso/start.html", {"form": form}, status=400 if form.is_bound else 200)


def _start_flow(request, provider, *, email: str, next_url: str):
    """Remember state, nonce and PKCE verifier in the session (single use) and go to the IdP."""
    if provider.protocol == IdentityProvider.Protocol.SAML:
        return _start_saml_flow(request, provider, next_url=next_url)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    flows = request.session.get(FLOWS_KEY, {})
    while len(flows) >= MAX_FLOWS:
        flows.pop(next(iter(flows)))
    flows[state] = {
        "provider": provider.pk,
        "nonce": nonce,
        "verifier": verifier,
        "started": clock.now().timestamp(),
        "next": next_url,
    }
    request.session[FLOWS_KEY] = flows
    metadata = _metadata(provider)
    url = oidc.authorization_url(
        metadata,
        client_id=provider.client_id,
        redirect_uri=callback_url(),
        state=state,
        nonce=nonce,
        code_verifier=verifier,
        login_hint=email,
    )
    # A page that moves on by itself rather than a redirect: the CSP's form-action 'self' also
    # governs the redirects after a form is posted, and the IdP is another origin.
    return render(request, "sso/to_provider.html", {"provider_url": url})


def _acs_path(key: str) -> str:
    return reverse("sso:saml_acs", args=[key])


def _start_saml_flow(request, provider, *, next_url: str):
    """Record the AuthnRequest as outstanding and send the browser to the IdP (HTTP-Redirect)."""
    try:
        request_id, url = services.start_saml_sign_in(provider=provider, next_url=next_url)
    except saml.SamlError:
        return _failed(request, _("Single sign-on is not available right now. Try again later."), status=503)
    response = render(request, "sso/to_provider.html", {"provider_url": url})
    # The IdP's POST to the ACS is cross-site, so the session cookie (SameSite=Lax) is not sent
    # with it; this cookie is (SameSite=None, only to the ACS) and ties the answer to this browser.
    response.set_signed_cookie(
        SAML_REQUEST_COOKIE,
        request_id,
        salt=SAML_REQUEST_SALT,
        max_age=settings.SSO_FLOW_MAX_AGE_SECONDS,
        path=_acs_path(selectors.saml_key_of(provider.organization)),
        secure=True,
        httponly=True,
        samesite="None",
    )
    return response


def _metadata(provider) -> oidc.ProviderMetadata:
    return oidc.ProviderMetadata(
        issuer=provider.issuer,
        authorization_endpoint=provider.authorization_endpoint,
        token_endpoint=provider.token_endpoint,
        jwks_uri=provider.jwks_uri,
    )


def _failed(request, message: str, status: int = 400):
    return render(request, "sso/failed.html", {"message": message}, status=status)


def oidc_callback(request):
    """The IdP sends the browser back here. The state is used once; the code is exchanged with
    the PKCE verifier; the ID token's signature, issuer, audience, expiry and nonce are checked."""
    flows = request.session.get(FLOWS_KEY, {})
    flow = flows.pop(request.GET.get("state", ""), None)
    request.session[FLOWS_KEY] = flows
    if flow is None:
        return _failed(request, _("This sign-in was already used or was not started here. Start again."))
    if clock.now().timestamp() - flow["started"] > settings.SSO_FLOW_MAX_AGE_SECONDS:
        return _failed(request, _("This sign-in took too long and has expired. Start again."))
    if request.GET.get("error"):
        return _failed(request, _("Your identity provider did not sign you in. Start again, or ask your administrator."))
    provider = selectors.IdentityProvider.objects.select_related("organization").filter(pk=flow["provider"]).first()
    if provider is None:
        return _failed(request, _("Single sign-on is no longer configured for this organization."))
    transport = selectors.transport()
    metadata = _metadata(provider)
    try:
        id_token = oidc.exchange_code(
            metadata,
            client_id=provider.client_id,
            client_secret=crypto.decrypt(provider.client_secret_encrypted),
            redirect_uri=callback_url(),
            code=request.GET.get("code", ""),
            code_verifier=flow["verifier"],
            transport=transport,
        )
        claims = oidc.validate_id_token(
            id_token,
            keys=signing_keys.keys_for_token(provider=provider, id_token=id_token, transport=transport),
            issuer=provider.issuer,
            client_id=provider.client_id,
            nonce=flow["nonce"],
            now=int(clock.now().timestamp()),
        )
    except (oidc.OidcError, ValueError) as error:
        audit.record(
            "sso.signin_refused",
            organization=provider.organization,
            actor_kind="system",
            detail={"reason": getattr(error, "reason", "secret"), "detail": str(error)[:300], "issuer": provider.issuer},
        )
        if getattr(error, "reason", "") == "unknown_key":
            return _failed(
                request,
                _(
                    "Your identity provider signed this sign-in with a key it does not publish, so you were not "
                    "signed in. Try again in a minute; if it keeps happening, ask your administrator to check "
                    "the identity provider's signing keys."
                ),
            )
        return _failed(request, _("Your identity provider's answer could not be verified, so you were not signed in. Start again."))
    try:
        user = services.complete_sign_in(provider=provider, claims=claims)
    except ConsoleError as error:
        return _failed(request, error.message, status=403)
    return _signed_in(request, provider, user, flow.get("next") or "")


@require_GET
def saml_metadata(request, key):
    """Our SP metadata for the organization's IdP to import (public, like every SP's)."""
    if selectors.saml_organization_id_for_key(key) is None:
        raise Http404
    document = saml.sp_metadata(selectors.saml_service_provider_for_key(key))
    return HttpResponse(document, content_type="application/samlmetadata+xml; charset=utf-8")


# csrf_exempt: the IdP's POST is cross-site by nature; the Response's signature, InResponseTo (our outstanding request, tied to this browser) and the replay check protect it instead.
@csrf_exempt
@require_POST
def saml_acs(request, key):
    """The assertion consumer service: the IdP's signed Response, posted by the browser."""
    organization_id = selectors.saml_organization_id_for_key(key)
    if organization_id is None:
        raise Http404
    provider = (
        IdentityProvider.objects.select_related("organization")
        .filter(organization_id=organization_id, protocol=IdentityProvider.Protocol.SAML)
        .first()
    )
    request_id = request.get_signed_cookie(
        SAML_REQUEST_COOKIE, default="", salt=SAML_REQUEST_SALT, max_age=settings.SSO_FLOW_MAX_AGE_SECONDS
    )
    if provider is None:
        response = _failed(request, _("Single sign-on is no longer configured for this organization."))
    else:
        response = _finish_saml(request, provider, request_id)
    response.delete_cookie(SAML_REQUEST_COOKIE, path=_acs_path(key), samesite="None")
    return response


def _finish_saml(request, provider, request_id: str):
    outstanding = services.take_saml_request(request_id=request_id, provider=provider) if request_id else None
    if outstanding is None:
        # Not audited: anyone can post here, so a row per post would let strangers fill the trail.
        return _failed(request, _("This sign-in was already used or was not started here. Start again."))
    try:
        user = services.accept_saml_response(
            provider=provider, outstanding=outstanding, saml_response=request.POST.get("SAMLResponse", "")
        )
    except ConsoleError as error:
        return _failed(request, error.message, status=403)
    return _signed_in(request, provider, user, outstanding.next_url)


def _signed_in(request, provider, user, next_url: str):
    login(request, user, backend="sso.backends.IdentityProviderBackend")
    services.record_signed_in(provider=provider, user=user, address=client_address(request))
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = reverse(settings.LOGIN_REDIRECT_URL)
    return redirect(next_url)


# --- Settings (Owners) ------------------------------------------------------------------------


@owner_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    provider = selectors.provider_of(request.organization)
    initial = {}
    if provider is not None and provider.protocol == IdentityProvider.Protocol.OIDC:
        initial = {"issuer": provider.issuer, "client_id": provider.client_id, "jit_provisioning": provider.jit_provisioning}
    form = ProviderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_provider(organization=request.organization, actor=request.user, **form.cleaned_data)
        except ConsoleError as error:
            form.add_error("issuer" if error.code != "secret_required" else "client_secret", error.message)
        else:
            messages.success(request, _("Your identity provider is saved."))
            return redirect("sso:settings")
    return _settings(request, provider, form=form)


@owner_required
@require_POST
def saml_settings(request):
    """Configure the SAML 2.0 IdP from its metadata (URL or uploaded file)."""
    provider = selectors.provider_of(request.organization)
    saml_form = SamlProviderForm(request.POST, request.FILES)
    if saml_form.is_valid():
        try:
            services.save_saml_provider(
                organization=request.organization,
                actor=request.user,
                metadata_url=saml_form.cleaned_data["metadata_url"],
                metadata_xml=saml_form.cleaned_data["metadata_file"],
                jit_provisioning=saml_form.cleaned_data["jit_provisioning"],
            )
        except ConsoleError as error:
            field = "metadata_file" if saml_form.cleaned_data["metadata_file"] is not None else "metadata_url"
            saml_form.add_error(field if error.code != "metadata_required" else None, error.message)
        else:
            messages.success(request, _("Your identity provider is saved."))
            return redirect("sso:settings")
    return _settings(request, provider, saml_form=saml_form)


def _settings(request, provider, *, form=None, saml_form=None):
    is_saml = provider is not None and provider.protocol == IdentityProvider.Protocol.SAML
    if form is None:
        form = ProviderForm()
    if saml_form is None:
        initial = {"metadata_url": provider.saml_metadata_url, "jit_provisioning": provider.jit_provisioning} if is_saml else {}
        saml_form = SamlProviderForm(initial=initial)
    owners = [m.user for m in Membership.objects.filter(organization=request.organization, role=Membership.Role.OWNER).select_related("user")]
    service_provider = services.saml_service_provider(request.organization)
    context = {
        "form": form,
        "saml_form": saml_form,
        "provider": provider,
        "is_saml": is_saml,
        "saml_certificates": [services.certificate_fingerprint(c) for c in provider.saml_certificates] if is_saml else [],
        "callback_url": callback_url(),
        "signin_url": emails.absolute_url(reverse("console:login")),
        "saml_entity_id": service_provider.entity_id,
        "saml_acs_url": service_provider.acs_url,
        "saml_metadata_url": service_provider.entity_id,
        "domains": selectors.domains_with_policies(request.organization),
        "break_glass_form": BreakGlassForm(owners=owners, initial={"owner": provider.break_glass_owner_id} if provider else None),
        "break_glass_owner": provider.break_glass_owner if provider else None,
        "verified_status": Domain.Status.VERIFIED,
    }
    return render(request, "sso/settings.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def domain_requirement(request, pk):
    """Confirm, then require (or stop requiring) SSO for one domain of the organization."""
    # The domain first: another organization's id is a 404 whoever asks.
    domain = get_for_organization(Domain.objects.active().select_related("organization"), request.organization, pk=pk)
    if request.membership.role != Membership.Role.OWNER:
        messages.error(request, _("Only Owners can require single sign-on."))
        return redirect("sso:settings")
    policy = getattr(domain, "sso_policy", None)
    currently = bool(policy and policy.require_sso)
    if request.method == "POST":
        require = request.POST.get("require_sso") == "on"
        try:
            services.set_domain_requirement(domain=domain, require_sso=require, actor=request.user)
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            if require:
                messages.success(request, _("Single sign-on is now required at %(domain)s.") % {"domain": domain})
            else:
                messages.success(request, _("Passwords work again at %(domain)s.") % {"domain": domain})
        return redirect("sso:settings")
    provider = selectors.provider_of(request.organization)
    members_at_domain = Membership.objects.filter(organization=request.organization, user__email_domain=domain.name).count()
    context = {"domain": domain, "currently": currently, "provider": provider, "members_at_domain": members_at_domain}
    return render(request, "sso/domain_requirement.html", context)


@owner_required
@require_POST
def break_glass(request):
    owners = [m.user for m in Membership.objects.filter(organization=request.organization, role=Membership.Role.OWNER).select_related("user")]
    form = BreakGlassForm(request.POST, owners=owners)
    if not form.is_valid():
        messages.error(request, _("Choose an Owner of this organization."))
        return redirect("sso:settings")
    owner = next(user for user in owners if user.pk == form.cleaned_data["owner"])
    try:
        services.set_break_glass_owner(organization=request.organization, owner=owner, actor=request.user)
    except ConsoleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(email)s keeps password sign-in.") % {"email": owner.email})
    return redirect("sso:settings")


@owner_required
@require_http_methods(["GET", "POST"])
def remove(request):
    provider = selectors.provider_of(request.organization)
    if provider is None:
        return redirect("sso:settings")
    if request.method == "POST":
        try:
            services.remove_provider(organization=request.organization, actor=request.user)
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Single sign-on is removed. Everyone signs in with a password again."))
        return redirect("sso:settings")
    return render(request, "sso/remove.html", {"provider": provider})


