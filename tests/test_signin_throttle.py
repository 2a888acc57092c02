"""Sign-in throttling that holds under concurrency, behind a proxy, on every sign-in form, and
cannot be turned against users; every attempt is in the audit trail."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client
from django.urls import reverse

from console.models import AuditEvent
from console.tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.support.missing import skip_or_fail

EVALUATED = {"count": 0}
_lock = threading.Lock()


class CountingHasher(PBKDF2PasswordHasher):
    """The real PBKDF2 hasher, counting how many passwords it was asked to check."""

    algorithm = "pbkdf2_sha256"

    def verify(self, password, encoded):
        with _lock:
            EVALUATED["count"] += 1
        return super().verify(password, encoded)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.test_signin_throttle.CountingHasher"]
    EVALUATED["count"] = 0
    return EVALUATED


def _sign_in(client, email, password, **extra):
    return client.post(reverse("console:login"), {"username": email, "password": password}, **extra)


@pytest.mark.django_db(transaction=True)
def test_parallel_attempts_evaluate_at_most_the_limit_of_passwords(live_server, settings, counting_hasher):
    """60 attempts at once against a live server: only SIGNIN_FAILURES_PER_ACCOUNT passwords are
    ever hashed and checked; the rest are refused before the hasher runs."""
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        skip_or_fail("the parallel sign-in test needs the shared Redis cache (REDIS_URL)", required_by="REQUIRE_SERVICES")
    settings.SIGNIN_FAILURES_PER_ACCOUNT = 5
    settings.SIGNIN_FAILURES_PER_ADDRESS = 1000
    UserFactory(email="target@example.com")
    counting_hasher["count"] = 0
    url = live_server.url + reverse("console:login")

    def attempt(_):
        session = requests.Session()
        session.get(url, timeout=30)
        token = session.cookies["csrftoken"]
        response = session.post(
            url,
            data={"username": "target@example.com", "password": "wrong-password", "csrfmiddlewaretoken": token},
            headers={"Referer": url},
            timeout=60,
        )
        return "Too many sign-in attempts" in response.text

    with ThreadPoolExecutor(max_workers=20) as pool:
        refused = list(pool.map(attempt, range(60)))
    print(f"60 parallel attempts: {counting_hasher['count']} passwords evaluated, {sum(refused)} refused")
    assert counting_hasher["count"] <= 5
    assert sum(refused) >= 55


@pytest.mark.django_db
def test_a_stranger_failing_elsewhere_does_not_lock_the_user_out(client, settings):
    settings.SIGNIN_FAILURES_PER_ACCOUNT = 3
    UserFactory(email="victim@example.com")
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(10):
        attacker.post(reverse("console:login"), {"username": "victim@example.com", "password": "guess"})
    assert "Too many sign-in attempts" in _sign_in(attacker, "victim@example.com", PASSWORD).content.decode()
    # The real user, from their own address, signs in at once.
    response = _sign_in(Client(REMOTE_ADDR="198.51.100.7"), "victim@example.com", PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_one_address_trying_many_accounts_is_limited_too(settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 4
    sprayer = Client(REMOTE_ADDR="203.0.113.10")
    for number in range(4):
        assert "do not match" in _sign_in(sprayer, f"user{number}@example.com", "guess").content.decode()
    assert "Too many sign-in attempts" in _sign_in(sprayer, "user9@example.com", "guess").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("trusted", "limited_by"), [(0, "balancer"), (1, "client")])
def test_the_client_address_comes_from_the_trusted_proxy_only(settings, trusted, limited_by):
    """Behind one load balancer, every request has the balancer's REMOTE_ADDR. With
    TRUSTED_PROXY_COUNT=1 the address the balancer appended is the client; a forged entry
    further left is never believed. With 0 the header is ignored."""
    settings.TRUSTED_PROXY_COUNT = trusted
    settings.SIGNIN_FAILURES_PER_ADDRESS = 3
    balancer = "10.0.0.2"

    def through_balancer(client_ip, forged="6.6.6.6"):
        return Client(REMOTE_ADDR=balancer, HTTP_X_FORWARDED_FOR=f"{forged}, {client_ip}")

    for number in range(3):
        _sign_in(through_balancer("203.0.113.20", forged=f"1.1.1.{number}"), f"a{number}@example.com", "guess")
    other_client = _sign_in(through_balancer("198.51.100.30"), "b@example.com", "guess").content.decode()
    if limited_by == "client":
        assert "do not match" in other_client  # another client behind the same balancer is not refused
        same_client = _sign_in(through_balancer("203.0.113.20", forged="9.9.9.9"), "c@example.com", "guess")
        assert "Too many sign-in attempts" in same_client.content.decode()  # forging the left entry does not help
    else:
        assert "Too many sign-in attempts" in other_client  # without trusted proxies, all share the balancer's address
    event = AuditEvent.objects.filter(action="user.signin_failed").order_by("pk").first()
    assert event.detail["address"] == ("203.0.113.20" if trusted else balancer)


@pytest.mark.django_db
def test_django_admin_sign_in_is_throttled_too(settings):
    settings.SIGNIN_FAILURES_PER_ACCOUNT = 2
    UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    client = Client()
    url = reverse("admin:login")
    for _ in range(2):
        client.post(url, {"username": "staff@example.com", "password": "guess"})
    response = client.post(url, {"username": "staff@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many sign-in attempts" in response.content.decode()


@pytest.mark.django_db
def test_sign_ins_failures_locks_and_sign_outs_are_audited_with_address_and_agent(settings):
    settings.SIGNIN_FAILURES_PER_ACCOUNT = 2
    member = MembershipFactory(user__email="ann@example.com")
    client = Client(REMOTE_ADDR="198.51.100.40", HTTP_USER_AGENT="Test Browser/1.0")
    _sign_in(client, "ann@example.com", "guess")
    _sign_in(client, "ann@example.com", "guess")
    _sign_in(client, "ann@example.com", "guess")  # locked
    _sign_in(client, "ann@example.com", "guess")  # still locked: audited once
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["user.signin_failed", "user.signin_failed", "user.signin_locked"]
    for event in AuditEvent.objects.all():
        assert event.detail["address"] == "198.51.100.40" and event.detail["user_agent"] == "Test Browser/1.0"
        assert event.organization == member.organization
    good = Client(REMOTE_ADDR="198.51.100.41")
    assert _sign_in(good, "ann@example.com", PASSWORD).status_code == 302
    good.post(reverse("console:logout"))
    assert list(AuditEvent.objects.order_by("-pk").values_list("action", flat=True)[:2]) == [
        "user.signed_out",
        "user.signed_in",
    ]
