"""Security properties that hold for every URL of the project."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from console.models import Membership, Organization, User
from console.tests.factories import MembershipFactory
from domains.tests.factories import DomainFactory

SKIP_PREFIXES = ("django-admin/", "static/")
# The API authenticates with a bearer token, never with the session cookie, so a forged
# cross-site POST carries no credentials there: CSRF does not apply (tested below instead).
API_PREFIX = "api/v1/"
# The SAML assertion consumer service takes the IdP's cross-site POST, which cannot carry our
# token: the Response's signature, InResponseTo and the replay check protect it instead
# (sso/tests/test_saml_sign_in.py), and it refuses here without changing anything.
CSRF_EXEMPT_ROUTES = {"/sso/saml/x/acs/"}


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def _concrete(route: str) -> str:
    """Fill converters with plausible values; CSRF is checked before the view runs."""
    import re

    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<uuid:\w+>", "00000000-0000-0000-0000-000000000001", route)
    route = re.sub(r"<(?:str|slug|path):\w+>", "x", route)
    route = re.sub(r"<\w+>", "x", route)
    route = route.replace("^", "").replace("$", "")
    return "/" + route


def all_routes():
    return sorted(
        {_concrete(r) for r in _walk(get_resolver().url_patterns) if not r.startswith((*SKIP_PREFIXES, API_PREFIX))}
    )


def api_routes():
    return sorted({_concrete(r) for r in _walk(get_resolver().url_patterns) if r.startswith(API_PREFIX)})


@pytest.fixture
def signed_in_admin(db):
    organization = Organization.objects.create(name="CSRF Org")
    user = User.objects.create_user("csrf-admin@example.org", "a-long-password-1", email_verified=True)
    Membership.objects.create(user=user, organization=organization, role=Membership.Role.OWNER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_there_are_routes_to_check():
    assert len(all_routes()) >= 10


@pytest.mark.django_db
@pytest.mark.parametrize("route", all_routes())
def test_every_post_without_csrf_token_is_refused(route, signed_in_admin):
    """Every URL, signed in as an Owner: a POST without the CSRF token is a 403 and changes nothing."""
    from console.models import AuditEvent

    before = AuditEvent.objects.count()
    response = signed_in_admin.post(route, {"email": "x@example.org", "name": "example.org"})
    if route in CSRF_EXEMPT_ROUTES:
        assert response.status_code in (400, 403, 404), f"{route} answered {response.status_code}"
    else:
        assert response.status_code == 403, f"{route} answered {response.status_code} to a POST without CSRF token"
    assert AuditEvent.objects.count() == before


def test_only_the_listed_routes_skip_the_csrf_check():
    """csrf_exempt on a view is a decision this file records, never an accident."""
    exempt = set()
    for route in _walk(get_resolver().url_patterns):
        if route.startswith((*SKIP_PREFIXES, API_PREFIX)):
            continue
        match = get_resolver().resolve(_concrete(route))
        if getattr(match.func, "csrf_exempt", False):
            exempt.add(_concrete(route))
    assert exempt == CSRF_EXEMPT_ROUTES


@pytest.mark.django_db
@pytest.mark.parametrize("route", api_routes())
def test_a_signed_in_browser_session_cannot_write_through_the_api(route, signed_in_admin):
    """The session cookie a forged request would carry is not an API credential: no writes, 401."""
    from console.models import AuditEvent

    before = AuditEvent.objects.count()
    response = signed_in_admin.post(route, {"domain": "example.org"}, content_type="application/json")
    assert response.status_code in (401, 403, 404, 405), f"{route} answered {response.status_code}"
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["/sign-in/"])
def test_anonymous_post_without_csrf_token_is_refused(route):
    response = Client(enforce_csrf_checks=True).post(route, {"username": "a@example.org", "password": "x"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_every_state_changing_view_rejects_a_post_without_csrf_token(organization, owner):
    DomainFactory(organization=organization, name="example.com")
    member = MembershipFactory(organization=organization, user__email="member@example.com")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    posts = [
        (reverse("members:add"), {"email": "x@example.com", "role": "member"}),
        (reverse("console:user_change_role", args=[member.pk]), {"role": "administrator"}),
        (reverse("console:user_remove", args=[member.pk]), {}),
        (reverse("console:resend_verification"), {}),
        (reverse("console:logout"), {}),
        (reverse("set_language"), {"language": "ja"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    anonymous = Client(enforce_csrf_checks=True)
    for url, data in [
        (reverse("console:sign_up"), {"email": "a@b.test", "password1": "x", "password2": "x"}),
        (reverse("console:login"), {"username": "owner@example.com", "password": "x"}),
        (reverse("console:password_reset"), {"email": "owner@example.com"}),
    ]:
        assert anonymous.post(url, data).status_code == 403, url
    member.refresh_from_db()
    assert member.role == "member"
    assert not Membership.objects.filter(user__email="x@example.com").exists()
