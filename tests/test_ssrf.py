"""The HTTPS verifier and the single sign-on client under attack, through the full service path.

domains/tests/test_verifiers_https.py proves the pure verifier against the loopback servers.
Here the same attacks go through what an admin's click runs — domains.services.verify_now
(settings → run_check → lifecycle → DomainCheck) and the Verify view — and we assert what
is recorded and shown: a definitive not_found check naming the refused address, never a
fetched body, the domain not verified, and (from the HTTPS server's own request log) no
connection to anything but the address that was checked.

The identity provider's endpoints (discovery, token, JWKS) get the same attacks at the end of
this file, against the loopback OpenID Connect provider, through save_provider and the sign-in
callback.

The loopback HTTPS server is the only thing on the network these tests can reach; a name
is "public-looking" when it resolves to 127.0.0.1 with HTTPS_ALLOW_LOOPBACK=True (tests only).
"""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.errors import ConsoleError
from console.models import AuditEvent, Membership, Organization, User
from console.tests.factories import MembershipFactory
from domains import services
from domains.checking import html_file_content
from domains.models import Domain, DomainCheck
from domains.tests.factories import DomainFactory
from sso import services as sso_services
from sso.models import IdentityProvider
from sso.tests.conftest import CLIENT_ID, CLIENT_SECRET, local, provider_url
from sso.views import callback_url

pytestmark = pytest.mark.django_db

NAME = "victim.example"
SECRET = "aws-secret-access-key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def ssrf(settings, dns_settings, https_settings, clock):
    """An organization with a pending HTTPS-method domain whose name the loopback DNS serves."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VERIFY_NOW_DEADLINE_SECONDS = 5.0
    settings.HTTPS_CONNECT_TIMEOUT_SECONDS = 2.0
    organization = Organization.objects.create(name="Acme")
    admin = User.objects.create_user("owner@owners.example", password="x-Secret-123", email_verified=True)
    Membership.objects.create(user=admin, organization=organization, role=Membership.Role.OWNER)
    domain = Domain.objects.create(organization=organization, name=NAME, unicode_name=NAME, method=Domain.Method.HTTPS)
    return _World(settings, dns_settings, https_settings, admin, domain)


class _World:
    def __init__(self, settings, dns, https, admin, domain):
        self.settings, self.dns, self.https, self.admin, self.domain = settings, dns, https, admin, domain

    @property
    def path(self) -> str:
        return "/" + self.settings.DOMAIN_HTML_FILENAME

    def serve_the_file(self, host=NAME):
        self.https.put(host, self.path, html_file_content(self.domain.token))

    def verify_now(self) -> DomainCheck:
        cache.clear()  # the per-domain rate limit is not under test here
        _outcome, check = services.verify_now(domain=self.domain, actor=self.admin)
        assert check is not None
        check.refresh_from_db()
        self.domain.refresh_from_db()
        return check

    def texts(self, check: DomainCheck) -> str:
        from domains.selectors import rendered_check

        rendered = rendered_check(check)
        return " ".join(
            [check.detail, str(check.detail_message), str(check.diagnostics), rendered.detail, *rendered.diagnostics]
        )


def assert_refused(world, check: DomainCheck, address: str):
    assert check.outcome == DomainCheck.Outcome.NOT_FOUND, check.detail
    assert f"resolves to {address}, a special-purpose address" in check.detail or (
        f"{address}" in check.detail and "special-purpose" in check.detail
    ), check.detail
    assert check.trigger == DomainCheck.Trigger.USER and check.method == Domain.Method.HTTPS
    assert world.domain.status == Domain.Status.PENDING
    assert SECRET not in world.texts(check)


# --- The baseline: the same setup verifies when nothing is wrong ------------------------------


def test_baseline_a_public_looking_name_with_the_file_verifies(ssrf):
    ssrf.dns.set_a(NAME, "127.0.0.1")
    ssrf.serve_the_file()
    check = ssrf.verify_now()
    assert check.outcome == DomainCheck.Outcome.VERIFIED, check.detail
    assert ssrf.domain.status == Domain.Status.VERIFIED
    assert [(r.host, r.server_name, r.client) for r in ssrf.https.requests] == [(NAME, NAME, "127.0.0.1")]


# --- Forbidden addresses ----------------------------------------------------------------------


def test_loopback_is_refused_when_not_allowed(ssrf):
    ssrf.settings.HTTPS_ALLOW_LOOPBACK = False
    ssrf.dns.set_a(NAME, "127.0.0.1")
    ssrf.serve_the_file()
    check = ssrf.verify_now()
    assert_refused(ssrf, check, "127.0.0.1")
    assert "loopback" in check.detail
    assert ssrf.https.requests == []


def test_ipv6_loopback_is_refused_when_not_allowed(ssrf):
    ssrf.settings.HTTPS_ALLOW_LOOPBACK = False
    ssrf.dns.set_aaaa(NAME, "::1")
    ssrf.serve_the_file()
    assert_refused(ssrf, ssrf.verify_now(), "::1")
    assert ssrf.https.requests == []


def test_metadata_address_in_an_a_record_is_refused(ssrf):
    ssrf.dns.set_a(NAME, "169.254.169.254")
    ssrf.serve_the_file()
    check = ssrf.verify_now()
    assert_refused(ssrf, check, "169.254.169.254")
    assert "link-local" in check.detail
    assert ssrf.https.requests == []


def test_metadata_address_mapped_into_ipv6_is_refused(ssrf):
    # An allowed A record next to the forbidden AAAA: any forbidden address refuses the check.
    ssrf.dns.set_a(NAME, "127.0.0.1")
    ssrf.dns.set_aaaa(NAME, "::ffff:169.254.169.254")
    ssrf.serve_the_file()
    check = ssrf.verify_now()
    assert check.outcome == DomainCheck.Outcome.NOT_FOUND
    assert "IPv4-mapped form of 169.254.169.254" in check.detail, check.detail
    assert ssrf.https.requests == []
    assert ssrf.domain.status == Domain.Status.PENDING


@pytest.mark.parametrize(
    ("rdtype", "address"),
    [
        ("A", "172.16.0.1"),
        ("A", "192.168.1.1"),
        ("A", "169.254.0.1"),
        ("A", "224.0.0.1"),
        ("A", "255.255.255.255"),
        ("A", "198.18.0.1"),
        ("A", "192.0.2.1"),
        ("AAAA", "fe80::1"),
        ("AAAA", "fc00::1"),
        ("AAAA", "2002:a9fe:a9fe::"),  # 6to4 of the metadata address
        ("AAAA", "64:ff9b::a9fe:a9fe"),  # NAT64 of the metadata address
        ("AAAA", "::a9fe:a9fe"),  # IPv4-compatible form
        ("AAAA", "::ffff:0:a9fe:a9fe"),  # IPv4-translated form
    ],
)
def test_other_special_purpose_addresses_are_refused_through_the_service(ssrf, rdtype, address):
    getattr(ssrf.dns, f"set_{rdtype.lower()}")(NAME, address)
    ssrf.serve_the_file()
    check = ssrf.verify_now()
    assert check.outcome == DomainCheck.Outcome.NOT_FOUND, check.detail
    assert "special-purpose" in check.detail, check.detail
    assert ssrf.https.requests == []
    assert ssrf.domain.status == Domain.Status.PENDING


# --- Redirects ----------------------------------------------------------------------------------


def test_redirect_to_a_name_resolving_to_a_private_address_is_refused(ssrf):
    ssrf.dns.set_a(NAME, "127.0.0.1")
    ssrf.dns.set_a("internal.example", "10.0.0.1")
    ssrf.https.redirect(NAME, ssrf.path, f"https://internal.example:{ssrf.https.port}{ssrf.path}")
    ssrf.https.put("internal.example", ssrf.path, SECRET)
    check = ssrf.verify_now()
    assert_refused(ssrf, check, "10.0.0.1")
    assert "internal.example" in check.detail
    # One request: the first hop, to the checked name; nothing was sent towards 10.0.0.1.
    assert [r.host for r in ssrf.https.requests] == [NAME]


@pytest.mark.parametrize(
    ("location", "address"),
    [
        ("https://169.254.169.254/latest/meta-data/iam/security-credentials/", "169.254.169.254"),
        ("https://[::ffff:169.254.169.254]/latest/meta-data/", "169.254.169.254"),
        ("https://user:password@10.0.0.1/", "10.0.0.1"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"),
        ("https://100.100.100.200/latest/meta-data/", "100.100.100.200"),  # Alibaba's metadata (CGNAT block)
    ],
)
def test_redirect_to_an_address_literal_is_refused(ssrf, location, address):
    ssrf.dns.set_a(NAME, "127.0.0.1")
    ssrf.https.redirect(NAME, ssrf.path, location)
    check = ssrf.verify_now()
    assert check.outcome == DomainCheck.Outcome.NOT_FOUND, check.detail
    assert "special-purpose" in check.detail and address.split("::")[0] in check.detail, check.detail
    assert [r.host for r in ssrf.https.requests] == [NAME]
    assert ssrf.domain.status == Domain.Status.PENDING


def test_redirect_to_loopback_is_refused_when_loopback_is_not_allowed(ssrf):
    """Loopback allowed for the first hop only would be a test artefact; with the production
    setting a redirect to localhost is refused like any other special-purpose address."""
    ssrf.settings.HTTPS_ALLOW_LOOPBACK = False
    ssrf.https.redirect(NAME, ssrf.path, "https://127.0.0.1/admin")
    ssrf.dns.set_a(NAME, "127.0.0.1")
    check = ssrf.verify_now()
    assert_refused(ssrf, check, "127.0.0.1")
    assert ssrf.https.requests == []  # refused before the first hop already


def test_redirect_through_a_second_host_that_rebinds(ssrf):
    """Each hop is resolved once and connected to at that address, even if its answer changes."""
    ssrf.dns.set_a(NAME, "127.0.0.1")
    ssrf.dns.set_a_sequence("hop.example", ["127.0.0.1"], ["169.254.169.254"])
    ssrf.https.redirect(NAME, ssrf.path, f"https://hop.example:{ssrf.https.port}{ssrf.path}")
    ssrf.serve_the_file("hop.example")
    check = ssrf.verify_now()
    # The file was served by hop.example at the checked address; one A lookup of the hop.
    assert check.outcome == DomainCheck.Outcome.VERIFIED, check.detail
    assert [r.host for r in ssrf.https.requests] == [NAME, "hop.example"]
    assert all(r.client == "127.0.0.1" for r in ssrf.https.requests)
    assert len(ssrf.dns.queries_for("hop.example", "A")) == 1


# --- DNS answers that change between lookups (rebinding) ----------------------------------------


def test_rebinding_after_the_check_never_reaches_the_second_address(ssrf):
    """First answer allowed (loopback in tests), any later answer the metadata address: the
    fetch goes to the address that was checked, with one lookup and one request."""
    ssrf.dns.set_a_sequence(NAME, ["127.0.0.1"], ["169.254.169.254"])
    ssrf.serve_the_file()
    check = ssrf.verify_now()
    assert check.outcome == DomainCheck.Outcome.VERIFIED, check.detail
    assert len(ssrf.dns.queries_for(NAME, "A")) == 1
    assert [(r.host, r.server_name, r.client) for r in ssrf.https.requests] == [(NAME, NAME, "127.0.0.1")]

    # The next check sees the second answer and refuses it without connecting anywhere.
    check = ssrf.verify_now()
    assert check.outcome == DomainCheck.Outcome.NOT_FOUND
    assert "169.254.169.254" in check.detail and "special-purpose" in check.detail
    assert len(ssrf.https.requests) == 1


def test_rebinding_with_the_forbidden_answer_first_never_connects(ssrf):
    ssrf.dns.set_a_sequence(NAME, ["169.254.169.254"], ["127.0.0.1"])
    ssrf.serve_the_file()
    check = ssrf.verify_now()
    assert_refused(ssrf, check, "169.254.169.254")
    assert ssrf.https.requests == []


def test_an_answer_mixing_allowed_and_forbidden_addresses_is_refused(ssrf):
    """A round-robin answer with one bad address: the connection could land on it, so no fetch."""
    ssrf.dns.set_a(NAME, "127.0.0.1", "169.254.169.254")
    ssrf.serve_the_file()
    assert_refused(ssrf, ssrf.verify_now(), "169.254.169.254")
    assert ssrf.https.requests == []


# --- Bodies are never recorded or shown ---------------------------------------------------------


@pytest.mark.parametrize("status", [200, 403, 404, 500])
def test_a_fetched_body_never_reaches_the_check_or_the_page(ssrf, status):
    ssrf.dns.set_a(NAME, "127.0.0.1")
    ssrf.https.put(NAME, ssrf.path, f"<html><body>{SECRET}</body></html>", status=status)
    client = Client()
    client.force_login(ssrf.admin)
    cache.clear()
    response = client.post(reverse("domains:verify_now", args=[ssrf.domain.pk]), follow=True)
    assert response.status_code == 200
    check = DomainCheck.objects.get(domain=ssrf.domain)
    assert check.outcome != DomainCheck.Outcome.VERIFIED
    assert SECRET not in ssrf.texts(check)
    assert "wJalrXUtnFEMI" not in response.content.decode()
    detail_page = client.get(reverse("domains:detail", args=[ssrf.domain.pk]))
    assert "wJalrXUtnFEMI" not in detail_page.content.decode()


def test_the_verify_view_shows_the_refusal(ssrf):
    ssrf.dns.set_a(NAME, "169.254.169.254")
    client = Client()
    client.force_login(ssrf.admin)
    response = client.post(reverse("domains:verify_now", args=[ssrf.domain.pk]), follow=True)
    body = response.content.decode()
    assert response.status_code == 200
    assert "169.254.169.254" in body and "special-purpose" in body
    assert ssrf.https.requests == []


# --- Whatever a site answers with, the check ends cleanly --------------------------------------

HOSTILE_LOCATIONS = [
    "https://169.254.169.254.nip.io/",
    "https://0x7f.1/",
    "https://2130706433/",
    "https://127.1/",
    "https://[::1]/",
    "https://[::]/",
    "https://0.0.0.0/",
    "https://localhost/",
    "https://bücher.example/x",
    "https://xn--/x",
    "https://a..b/x",
    "https://" + "a" * 300 + ".example/",
    "https://victim.example:0/",
    "https://victim.example:99999/",
    "https://victim.example:-1/",
    "https://@/",
    "https:///x",
    "https:x",
    "//169.254.169.254/",
    "/\\169.254.169.254/",
    "\\\\169.254.169.254\\x",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "javascript:alert(1)",
    "HTTPS://169.254.169.254/",
    "https://169.254.169.254%2f@victim.example/",
    "https://victim.example@169.254.169.254/",
    "https://victim.example#@169.254.169.254/",
    "https://[fe80::1%25eth0]/",
    "https://[v1.x]/",
    "../../../../etc/passwd",
    "?a=1",
    "",
    " ",
]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(location=st.one_of(st.sampled_from(HOSTILE_LOCATIONS), st.text(max_size=60)))
def test_hostile_redirect_targets_end_in_a_recorded_check(ssrf, location):
    """Any Location header: a DomainCheck is recorded, no exception escapes, nothing is verified,
    and no request reaches the loopback server except the first hop (no other name resolves to it)."""
    ssrf.https.clear()
    ssrf.dns.clear()
    ssrf.dns.set_a(NAME, "127.0.0.1")
    ssrf.https.redirect(NAME, ssrf.path, location)
    ssrf.settings.HTTPS_CONNECT_TIMEOUT_SECONDS = 0.5
    ssrf.settings.VERIFY_NOW_DEADLINE_SECONDS = 2.0
    before = DomainCheck.objects.count()
    try:
        check = ssrf.verify_now()
    except UnicodeError:  # http.server cannot even send some Location values; nothing to test then
        return
    assert DomainCheck.objects.count() == before + 1
    assert check.outcome != DomainCheck.Outcome.VERIFIED
    # Only the first hop reached the server, or a relative redirect back to the same checked name.
    assert {r.host for r in ssrf.https.requests} <= {NAME}
    assert all(r.client == "127.0.0.1" for r in ssrf.https.requests)


# --- The identity provider's endpoints: discovery, token, JWKS ----------------------------------

# A name in the provider's certificate. Also in /etc/hosts, so code that asked the system
# resolver instead of the configured one would get 127.0.0.1 without any DNS traffic leaving.
IDP_NAME = "localhost"
IDP_PATHS = ("/.well-known/openid-configuration", "/token", "/jwks")
# Refused as "this network"; a client that connected to it anyway would reach this machine.
THIS_NETWORK = "0.0.0.0"  # noqa: S104  (an address to refuse, never one we bind)


class _Idp:
    def __init__(self, settings, dns, provider, organization, owner):
        self.settings, self.dns, self.provider = settings, dns, provider
        self.organization, self.owner = organization, owner

    def configure(self, issuer: str) -> IdentityProvider:
        return sso_services.save_provider(
            organization=self.organization, issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            jit_provisioning=False, actor=self.owner,
        )

    def sign_in(self):
        client = Client()
        started = client.post("/sign-in/", {"username": "alice@example.com", "sso": "1"})
        callback = self.provider.sign_in(provider_url(started), "alice@example.com")
        return client, client.get(local(callback))

    def requests(self) -> list[tuple[str, str, str]]:
        """(path, Host header, address it arrived at) of each request to an IdP endpoint."""
        return [(r["path"], r["host"], r["local"]) for r in self.provider.counts()["requests"] if r["path"] in IDP_PATHS]

    def last_refusal(self) -> dict:
        return AuditEvent.objects.filter(action="sso.signin_refused").latest("pk").detail


@pytest.fixture
def idp(settings, dns_settings, oidc_provider, organization, owner):
    """An organization with alice@example.com at a verified domain, and the loopback IdP."""
    settings.SSO_HTTP_TIMEOUT_SECONDS = 3.0
    DomainFactory(organization=organization, name="example.com", unicode_name="example.com")
    MembershipFactory(organization=organization, user__email="alice@example.com")
    oidc_provider.register(CLIENT_ID, CLIENT_SECRET, callback_url())
    return _Idp(settings, dns_settings, oidc_provider, organization, owner)


def assert_idp_refused(idp, issuer: str, address: str):
    with pytest.raises(ConsoleError) as refused:
        idp.configure(issuer)
    assert refused.value.code == "forbidden_address", refused.value.message
    assert not IdentityProvider.objects.exists()
    assert idp.requests() == []


def test_baseline_every_idp_request_goes_to_the_checked_address_under_the_name(idp):
    idp.dns.set_a(IDP_NAME, "127.0.0.1")
    idp.configure(idp.provider.named(IDP_NAME))
    client, response = idp.sign_in()
    assert response.status_code == 302, response.content[:300]
    host = f"{IDP_NAME}:{idp.provider.port}"
    assert idp.requests() == [(path, host, "127.0.0.1") for path in IDP_PATHS]
    # One lookup per request (discovery, token, JWKS) through the configured resolver.
    assert len(idp.dns.queries_for(IDP_NAME, "A")) == 3


def test_idp_rebinding_after_the_check_never_reaches_the_second_address(idp):
    """Each request resolves the name once and connects to that answer: discovery sees the
    allowed answer and is served; the token request sees the forbidden one and never connects.
    (The forbidden answer is 0.0.0.0, so even a failing run sends nothing off this machine.)"""
    idp.dns.set_a_sequence(IDP_NAME, ["127.0.0.1"], [THIS_NETWORK])
    idp.configure(idp.provider.named(IDP_NAME))
    assert len(idp.dns.queries_for(IDP_NAME, "A")) == 1
    assert idp.requests() == [(IDP_PATHS[0], f"{IDP_NAME}:{idp.provider.port}", "127.0.0.1")]

    client, response = idp.sign_in()
    assert response.status_code == 400
    assert client.session.get("_auth_user_id") is None
    refusal = idp.last_refusal()
    assert refusal["reason"] == "forbidden_address" and THIS_NETWORK in refusal["detail"], refusal
    assert idp.provider.counts()["token_requests"] == 0
    assert len(idp.requests()) == 1


def test_idp_answer_mixing_allowed_and_forbidden_addresses_is_refused(idp):
    idp.dns.set_a(IDP_NAME, "127.0.0.1", "169.254.169.254")
    assert_idp_refused(idp, idp.provider.named(IDP_NAME), "169.254.169.254")


def test_idp_metadata_address_mapped_into_ipv6_is_refused(idp):
    idp.dns.set_a(IDP_NAME, "127.0.0.1")
    idp.dns.set_aaaa(IDP_NAME, "::ffff:169.254.169.254")
    assert_idp_refused(idp, idp.provider.named(IDP_NAME), "169.254.169.254")


@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.1", "192.168.1.1", "100.100.100.200", THIS_NETWORK])
def test_idp_discovery_at_a_special_purpose_address_is_refused(idp, address):
    idp.dns.set_a(IDP_NAME, address)
    assert_idp_refused(idp, idp.provider.named(IDP_NAME), address)


def test_idp_loopback_is_refused_when_not_allowed(idp):
    idp.settings.HTTPS_ALLOW_LOOPBACK = False
    assert_idp_refused(idp, idp.provider.issuer, "127.0.0.1")


def test_idp_pinned_connection_still_checks_the_certificate_name(idp):
    """Connecting to the checked address does not weaken TLS: a name the certificate does not
    cover is refused even though it resolves to the provider's address."""
    idp.dns.set_a("elsewhere.example", "127.0.0.1")
    with pytest.raises(ConsoleError) as refused:
        idp.configure(idp.provider.named("elsewhere.example"))
    assert refused.value.code == "unreachable"
    assert idp.requests() == []


def test_idp_token_endpoint_at_a_special_purpose_address_is_never_contacted(idp):
    idp.provider.behave(endpoints={"token_endpoint": f"https://token.example:{idp.provider.port}/token"})
    idp.dns.set_a("token.example", "169.254.169.254")
    idp.configure(idp.provider.issuer)
    client, response = idp.sign_in()
    assert response.status_code == 400
    refusal = idp.last_refusal()
    assert refusal["reason"] == "forbidden_address" and "169.254.169.254" in refusal["detail"], refusal
    assert idp.provider.counts()["token_requests"] == 0


def test_idp_jwks_at_a_special_purpose_address_is_never_contacted(idp):
    idp.provider.behave(endpoints={"jwks_uri": f"https://keys.example:{idp.provider.port}/jwks"})
    idp.dns.set_a("keys.example", "10.0.0.1")
    idp.configure(idp.provider.issuer)
    client, response = idp.sign_in()
    assert response.status_code == 400
    refusal = idp.last_refusal()
    assert refusal["reason"] == "forbidden_address" and "10.0.0.1" in refusal["detail"], refusal
    counts = idp.provider.counts()
    assert counts["token_requests"] == 1 and counts["jwks_requests"] == 0


def test_idp_answer_larger_than_the_cap_is_refused_without_reading_it_all(idp):
    idp.provider.behave(discovery_padding=8 * 1024 * 1024)
    with pytest.raises(ConsoleError) as refused:
        idp.configure(idp.provider.issuer)
    assert refused.value.code == "too_large"
    assert not IdentityProvider.objects.exists()
