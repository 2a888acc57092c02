"""An organization with example.com verified and its IdP configured against the loopback provider."""

from urllib.parse import urlsplit

import pytest

from domains.tests.factories import DomainFactory
from sso import services
from sso.views import callback_url

CLIENT_ID = "admin-center"
CLIENT_SECRET = "s3cret-from-the-idp"


@pytest.fixture
def domain(organization):
    return DomainFactory(organization=organization, name="example.com", unicode_name="example.com")


@pytest.fixture
def provider(oidc_provider, organization, owner, domain):
    oidc_provider.register(CLIENT_ID, CLIENT_SECRET, callback_url())
    return services.save_provider(
        organization=organization,
        issuer=oidc_provider.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        jit_provisioning=False,
        actor=owner,
    )


def local(url: str) -> str:
    """The path and query of a URL on the console (the test client takes no host)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@pytest.fixture
def sso_sign_in(client, oidc_provider):
    """Sign in as a browser would: the sign-in page's SSO button, the IdP's form, the callback."""

    def sign_in(email: str, *, asserted: str | None = None, http_client=None):
        http_client = http_client or client
        started = http_client.post("/sign-in/", {"username": email, "sso": "1"})
        callback = oidc_provider.sign_in(provider_url(started), asserted or email)
        return http_client.get(local(callback)), local(callback)

    return sign_in


def provider_url(response) -> str:
    """Where the "taking you to your identity provider" page sends the browser."""
    assert response.status_code == 200, response.content[:500]
    return response.context["provider_url"]
