"""Password sign-in under SSO enforcement, for every entry point that calls authenticate()
(the console's sign-in and Django admin's).

The password is still evaluated behind the sign-in throttle (console.throttle), so refusing a
managed user whose domain requires SSO neither skips the throttle nor tells a stranger who
lacks the password anything. A correct password of such a user is refused with the reason.
"""

from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from console.client import client_address
from console.throttle import ThrottledAdminAuthenticationForm, ThrottledAuthenticationForm, ThrottledModelBackend
from sso import selectors, services
from sso.models import DomainPolicy


class SsoEnforcingBackend(ThrottledModelBackend):
    """The throttled password backend that refuses managed users whose verified domain requires SSO."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None
        policy = selectors.enforced_policy_for(user)
        address = client_address(request) if request is not None else ""
        if policy is not None:
            if request is not None:
                request.sso_required = policy
            services.record_password_refused(user=user, policy=policy, address=address)
            raise PermissionDenied  # authenticate() stops: no other backend may let the password in
        membership = getattr(user, "membership", None)
        if membership is not None and membership.role == membership.Role.OWNER and _break_glass_in_use(user):
            services.record_break_glass_sign_in(user=user, organization=membership.organization, address=address)
        return user


class IdentityProviderBackend(BaseBackend):
    """The backend a session opened through the organization's identity provider is recorded
    with. It never accepts a password (authenticate is always None); the second-factor gate tells
    an IdP sign-in from a password sign-in by it (the IdP answers for the second factor)."""

    def authenticate(self, request, **kwargs):
        return None

    def get_user(self, user_id):
        return SsoEnforcingBackend().get_user(user_id)


def _break_glass_in_use(user) -> bool:
    """An Owner signing in with a password while their domain requires SSO (the break-glass path)."""
    return DomainPolicy.objects.in_force().filter(
        domain__organization_id=user.membership.organization_id, domain__name=user.email_domain
    ).exists()


def sso_required_message(policy) -> str:
    return _(
        "%(organization)s requires single sign-on for addresses at %(domain)s, so your password cannot be used "
        "here. Choose “Continue with single sign-on” to sign in through your organization's identity provider."
    ) % {"organization": policy.domain.organization.name, "domain": policy.domain}


class SsoMessageMixin:
    """Say why a correct password was refused and where to sign in instead."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            policy = getattr(self.request, "sso_required", None)
            if policy is not None:
                self.sso_policy = policy
                raise ValidationError(sso_required_message(policy), code="sso_required") from None
            raise


class SignInForm(SsoMessageMixin, ThrottledAuthenticationForm):
    sso_policy = None


class AdminSignInForm(SsoMessageMixin, ThrottledAdminAuthenticationForm):
    sso_policy = None
