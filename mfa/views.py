"""Second-factor pages: the challenge after the password, re-authentication, the user's own
Security page (authenticator app, security keys and passkeys, recovery codes) and the
organization's two-factor policy. Thin: bind a form, call one service, redirect or show the error."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from console.errors import ConsoleError
from console.permissions import admin_required, mark_recently_authenticated, require_recent_auth
from console.throttle import throttled_message
from mfa import keys, services, totp
from mfa.forms import CodeForm, PasswordForm, PolicyForm, SecurityKeyForm, TotpConfirmForm
from mfa.gate import PENDING_SESSION_KEY, must_enrol, second_factor_pending
from mfa.models import RecoveryCode, SecurityKey, TotpDevice

_CHALLENGE_KEY = "mfa_webauthn_challenge"  # {"purpose": ..., "challenge": base64url}
_TOTP_SETUP_KEY = "mfa_totp_setup_secret"  # the secret shown until the app confirms it


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _remember_challenge(request, purpose: str, challenge: bytes) -> None:
    request.session[_CHALLENGE_KEY] = {"purpose": purpose, "challenge": bytes_to_base64url(challenge)}


def _take_challenge(request, purpose: str) -> bytes | None:
    """The challenge issued for `purpose`, usable once."""
    stored = request.session.pop(_CHALLENGE_KEY, None)
    if not isinstance(stored, dict) or stored.get("purpose") != purpose:
        return None
    return base64url_to_bytes(stored["challenge"])


def _authentication_options(request, purpose: str) -> JsonResponse:
    allow = [bytes(credential_id) for credential_id in request.user.security_keys.values_list("credential_id", flat=True)]
    if not allow:
        return JsonResponse({"detail": _("You have no security key.")}, status=400)
    options = keys.authentication_options(rp_id=settings.MFA_WEBAUTHN_RP_ID, allow=allow)
    _remember_challenge(request, purpose, options.challenge)
    return JsonResponse({"publicKey": options.json})


def _second_factor_post(request, purpose: str):
    """Check the code or the security key posted by the challenge or re-authentication page.
    Returns (passed, code_form)."""
    code_form = CodeForm(request.POST if "code" in request.POST else None)
    try:
        if "credential" in request.POST:
            challenge = _take_challenge(request, purpose)
            if challenge is None:
                raise ConsoleError(_("That security key could not be verified. Try again, or use another way."))
            services.verify_security_key(
                user=request.user,
                credential=request.POST["credential"],
                challenge=challenge,
                request=request,
                purpose=purpose,
            )
            return True, code_form
        if code_form.is_valid():
            services.verify_code(user=request.user, code=code_form.cleaned_data["code"], request=request, purpose=purpose)
            return True, code_form
    except ConsoleError as error:
        code_form = CodeForm(request.POST)
        code_form.is_valid()
        code_form.add_error("code" if "code" in request.POST else None, error.message)
    return False, code_form


def _factor_context(user) -> dict:
    return {
        "has_totp": TotpDevice.objects.filter(user=user).exists(),
        "has_keys": SecurityKey.objects.filter(user=user).exists(),
    }


# --- After the password -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def challenge(request):
    default = settings.LOGIN_REDIRECT_URL
    if not second_factor_pending(request):
        return redirect(_next_url(request, default))
    passed, code_form = False, CodeForm()
    if request.method == "POST":
        passed, code_form = _second_factor_post(request, "sign_in")
    if passed:
        request.session.cycle_key()  # a new session id once the sign-in is complete
        request.session.pop(PENDING_SESSION_KEY, None)
        mark_recently_authenticated(request)
        return redirect(_next_url(request, default))
    context = {"form": code_form, "next": _next_url(request, ""), **_factor_context(request.user)}
    return render(request, "mfa/challenge.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def challenge_key_options(request):
    return _authentication_options(request, "sign_in")


# --- Re-authentication --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def reauthenticate(request):
    """Prove who you are again (password, app code, recovery code or security key) before a
    sensitive action; then back to where you were."""
    default = settings.LOGIN_REDIRECT_URL
    password_form, code_form, passed = PasswordForm(), CodeForm(), False
    if request.method == "POST" and "password" in request.POST:
        password_form = PasswordForm(request.POST)
        if password_form.is_valid():
            # Through the throttled backend, like every password check.
            user = authenticate(request, username=request.user.email, password=password_form.cleaned_data["password"])
            if user is not None and user.pk == request.user.pk:
                passed = True
            else:
                state = getattr(request, "signin_throttled", None)
                password_form.add_error(
                    "password", throttled_message(state) if state is not None else _("That password is not right.")
                )
    elif request.method == "POST":
        passed, code_form = _second_factor_post(request, "reauthenticate")
    if passed:
        mark_recently_authenticated(request)
        return redirect(_next_url(request, default))
    context = {
        "password_form": password_form,
        "form": code_form,
        "next": _next_url(request, ""),
        "has_password": request.user.has_usable_password(),
        **_factor_context(request.user),
    }
    return render(request, "mfa/reauthenticate.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def reauthenticate_key_options(request):
    return _authentication_options(request, "reauthenticate")


# --- The user's Security page -------------------------------------------------------------


@login_required
def security(request):
    user = request.user
    context = {
        "totp_device": TotpDevice.objects.filter(user=user).first(),
        "security_keys": list(SecurityKey.objects.filter(user=user)),
        "recovery_codes_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
        "must_enrol": must_enrol(user),
        "key_form": SecurityKeyForm(),
    }
    return render(request, "mfa/security.html", context)


def _show_new_codes_or_return(request, *, first_factor: bool):
    """After the first factor, recovery codes are made and shown at once (there is no later
    moment the user is sure to see them)."""
    if first_factor:
        codes = services.generate_recovery_codes(user=request.user, request=request)
        return render(request, "mfa/recovery_codes.html", {"codes": codes, "first_factor": True})
    return redirect("mfa:security")


@require_recent_auth
@require_http_methods(["GET", "POST"])
def totp_add(request):
    if TotpDevice.objects.filter(user=request.user).exists():
        messages.info(request, _("You already have an authenticator app. Remove it first to set up another."))
        return redirect("mfa:security")
    secret = request.session.get(_TOTP_SETUP_KEY) or totp.new_secret()
    request.session[_TOTP_SETUP_KEY] = secret
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        first_factor = not request.user.two_factor_enabled
        try:
            services.add_totp(user=request.user, secret=secret, code=form.cleaned_data["code"], request=request)
        except ConsoleError as error:
            form.add_error("code", error.message)
        else:
            request.session.pop(_TOTP_SETUP_KEY, None)
            messages.success(request, _("Your authenticator app is set up. You will be asked for a code when you sign in."))
            return _show_new_codes_or_return(request, first_factor=first_factor)
    uri = totp.provisioning_uri(secret, account=request.user.email, issuer=settings.MFA_TOTP_ISSUER)
    context = {"form": form, "qr": totp.qr_data_uri(uri), "secret": totp.grouped(secret), "otpauth_uri": uri}
    return render(request, "mfa/totp_add.html", context, status=400 if request.method == "POST" else 200)


@require_recent_auth
@require_http_methods(["GET", "POST"])
def totp_remove(request):
    device = get_object_or_404(TotpDevice, user=request.user)
    if request.method == "POST":
        services.remove_totp(user=request.user, request=request)
        messages.success(request, _("The authenticator app was removed."))
        return redirect("mfa:security")
    return render(request, "mfa/totp_remove.html", {"device": device, "last_factor": _is_last_factor(request.user)})


@require_recent_auth
@require_POST
def key_options(request):
    user = request.user
    existing = [bytes(credential_id) for credential_id in user.security_keys.values_list("credential_id", flat=True)]
    options = keys.registration_options(
        rp_id=settings.MFA_WEBAUTHN_RP_ID,
        rp_name=settings.MFA_TOTP_ISSUER,
        # A stable, opaque handle (no e-mail address inside the authenticator's user id).
        user_handle=f"user-{user.pk}".encode(),
        user_name=user.email,
        user_display_name=user.display_name,
        exclude=existing,
    )
    _remember_challenge(request, "register", options.challenge)
    return JsonResponse({"publicKey": options.json})


@require_recent_auth
@require_POST
def key_add(request):
    form = SecurityKeyForm(request.POST)
    if form.is_valid():
        challenge = _take_challenge(request, "register")
        first_factor = not request.user.two_factor_enabled
        try:
            if challenge is None:
                raise ConsoleError(_("The security key did not answer in time. Try again."))
            services.clean_key_name(form.cleaned_data["name"])
            try:
                credential = keys.verify_registration(
                    credential=form.cleaned_data["credential"],
                    challenge=challenge,
                    rp_id=settings.MFA_WEBAUTHN_RP_ID,
                    origin=settings.MFA_WEBAUTHN_ORIGIN,
                )
            except keys.CeremonyFailed:
                raise ConsoleError(_("The security key could not be registered. Try again.")) from None
            services.add_security_key(user=request.user, name=form.cleaned_data["name"], credential=credential, request=request)
        except ConsoleError as error:
            messages.error(request, error.message)
            return redirect("mfa:security")
        messages.success(request, _("The security key “%(name)s” was added.") % {"name": form.cleaned_data["name"]})
        return _show_new_codes_or_return(request, first_factor=first_factor)
    messages.error(request, _("Give the key a name, then touch or unlock it when your browser asks."))
    return redirect("mfa:security")


def _is_last_factor(user) -> bool:
    return TotpDevice.objects.filter(user=user).count() + SecurityKey.objects.filter(user=user).count() <= 1


@require_recent_auth
@require_http_methods(["GET", "POST"])
def key_remove(request, pk):
    key = get_object_or_404(SecurityKey, pk=pk, user=request.user)  # another user's key: 404
    if request.method == "POST":
        services.remove_security_key(key=key, request=request)
        messages.success(request, _("The security key “%(name)s” was removed.") % {"name": key.name})
        return redirect("mfa:security")
    return render(request, "mfa/key_remove.html", {"key": key, "last_factor": _is_last_factor(request.user)})


@require_recent_auth
@require_http_methods(["GET", "POST"])
def recovery_codes(request):
    """GET asks first (new codes make the saved ones stop working); POST makes and shows them."""
    if request.method == "GET":
        left = RecoveryCode.objects.filter(user=request.user, used_at__isnull=True).count()
        return render(request, "mfa/recovery_codes_confirm.html", {"recovery_codes_left": left})
    try:
        codes = services.generate_recovery_codes(user=request.user, request=request)
    except ConsoleError as error:
        messages.error(request, error.message)
        return redirect("mfa:security")
    return render(request, "mfa/recovery_codes.html", {"codes": codes, "first_factor": False})


# --- The organization's policy ------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def policy(request):
    organization = request.organization
    initial = {
        "required_for_admins": organization.two_factor_required_for_admins,
        "required_for_all": organization.two_factor_required_for_all,
    }
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST":
        return _change_policy(request, form)
    return render(request, "mfa/policy.html", {"form": form, "is_owner": request.membership.role == "owner"})


@require_recent_auth
def _change_policy(request, form):
    if form.is_valid():
        try:
            services.set_policy(
                organization=request.organization,
                required_for_admins=form.cleaned_data["required_for_admins"],
                required_for_all=form.cleaned_data["required_for_all"],
                actor=request.user,
                request=request,
            )
        except ConsoleError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The two-factor policy was saved."))
    return redirect("mfa:policy")
