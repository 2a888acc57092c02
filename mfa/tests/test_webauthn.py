"""Security keys and passkeys through the pages, answered by a software authenticator (a real
P-256 key): registration, the sign-in challenge, and what must be refused."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from console.models import AuditEvent
from mfa.models import SecurityKey
from mfa.tests.authenticator import SoftAuthenticator, b64
from mfa.tests.conftest import ORIGIN, sign_in

pytestmark = pytest.mark.django_db


def _options(client, name: str) -> str:
    response = client.post(reverse(name), HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    return response.json()["publicKey"]


def register(client, authenticator, name="YubiKey"):
    credential = authenticator.create(_options(client, "mfa:key_options"))
    return client.post(reverse("mfa:key_add"), {"name": name, "credential": credential})


@pytest.fixture
def key(clock, admin_client):
    authenticator = SoftAuthenticator(origin=ORIGIN)
    response = register(admin_client, authenticator)
    assert response.status_code == 200  # the first factor: recovery codes shown at once
    assert response.content.decode().count("<li><code>") == 10
    return authenticator


def test_registration_keeps_the_public_key_and_turns_two_factor_on(key, owner):
    stored = SecurityKey.objects.get(user=owner)
    assert stored.name == "YubiKey" and bytes(stored.credential_id) == key.credential_id and not stored.is_passkey
    owner.refresh_from_db()
    assert owner.two_factor_enabled
    assert AuditEvent.objects.filter(action="mfa.security_key_added", detail__name="YubiKey").exists()


def test_the_options_exclude_keys_already_registered(key, admin_client):
    options = json.loads(_options(admin_client, "mfa:key_options"))
    assert options["rp"]["id"] == "console.example.test"
    assert [entry["id"] for entry in options["excludeCredentials"]] == [b64(key.credential_id)]


def test_a_synced_credential_is_recorded_as_a_passkey(clock, admin_client, owner):
    register(admin_client, SoftAuthenticator(origin=ORIGIN, passkey=True), name="Phone")
    assert SecurityKey.objects.get(user=owner).is_passkey
    assert "Passkey" in admin_client.get(reverse("mfa:security")).content.decode()


@pytest.mark.parametrize(
    "origin, name, error",
    [("https://evil.example", "Key", "could not be registered"), (ORIGIN, "   ", "Give the key a name")],
)
def test_a_bad_registration_changes_nothing(clock, admin_client, owner, origin, name, error):
    response = register(admin_client, SoftAuthenticator(origin=origin), name=name)
    assert response.status_code == 302
    assert error in admin_client.get(reverse("mfa:security")).content.decode()
    assert not SecurityKey.objects.exists()
    owner.refresh_from_db()
    assert not owner.two_factor_enabled


def test_a_registration_without_its_challenge_is_refused(clock, admin_client):
    authenticator = SoftAuthenticator(origin=ORIGIN)
    credential = authenticator.create(_options(admin_client, "mfa:key_options"))
    assert admin_client.post(reverse("mfa:key_add"), {"name": "A", "credential": credential}).status_code == 200
    # The same answer again: its challenge was used up.
    admin_client.post(reverse("mfa:key_add"), {"name": "B", "credential": credential})
    assert SecurityKey.objects.count() == 1


def test_the_key_completes_the_sign_in(key, owner):
    client = Client()
    sign_in(client, owner.email)
    assert client.get(reverse("console:home")).status_code == 302
    assertion = key.get(_options(client, "mfa:challenge_key_options"))
    response = client.post(reverse("mfa:challenge"), {"credential": assertion})
    assert response.status_code == 302
    assert client.get(reverse("console:home")).status_code == 200
    assert SecurityKey.objects.get(user=owner).sign_count == key.sign_count
    assert AuditEvent.objects.filter(action="user.two_factor_passed", detail__method="security_key").exists()


def test_a_replayed_assertion_is_refused(key, owner):
    first = Client()
    sign_in(first, owner.email)
    assertion = key.get(_options(first, "mfa:challenge_key_options"))
    assert first.post(reverse("mfa:challenge"), {"credential": assertion}).status_code == 302

    second = Client()
    sign_in(second, owner.email)
    _options(second, "mfa:challenge_key_options")  # a fresh challenge that the old answer did not sign
    assert second.post(reverse("mfa:challenge"), {"credential": assertion}).status_code == 400
    assert second.get(reverse("console:home")).status_code == 302


@pytest.mark.parametrize("tamper", ["other_key", "wrong_origin", "wrong_rp"])
def test_assertions_that_prove_nothing_are_refused(key, owner, tamper):
    client = Client()
    sign_in(client, owner.email)
    options = _options(client, "mfa:challenge_key_options")
    if tamper == "other_key":
        impostor = SoftAuthenticator(origin=ORIGIN)
        impostor.credential_id = key.credential_id  # claims the registered id, signs with its own key
        assertion = impostor.get(options)
    elif tamper == "wrong_origin":
        key.origin = "https://evil.example"
        assertion = key.get(options)
    else:
        assertion = key.get(options, rp_id="evil.example")
    response = client.post(reverse("mfa:challenge"), {"credential": assertion})
    assert response.status_code == 400
    assert "could not be verified" in response.content.decode()
    assert client.get(reverse("console:home")).status_code == 302
    assert AuditEvent.objects.filter(action="user.two_factor_failed", detail__method="security_key").exists()


def test_removing_a_key_asks_first(key, admin_client, owner):
    stored = SecurityKey.objects.get(user=owner)
    page = admin_client.get(reverse("mfa:key_remove", args=[stored.pk]))
    assert page.status_code == 200 and "YubiKey" in page.content.decode()
    assert SecurityKey.objects.exists()
    assert admin_client.post(reverse("mfa:key_remove", args=[stored.pk])).status_code == 302
    assert not SecurityKey.objects.exists()
    owner.refresh_from_db()
    assert not owner.two_factor_enabled
    assert AuditEvent.objects.filter(action="mfa.security_key_removed").exists()


JUNK = [
    "",
    "null",
    "[]",
    "12",
    '{"rawId": 5}',
    '{"rawId": "!!!"}',
    '{"id": "x", "rawId": "AAAA", "response": {}}',
    '{"id": "x", "rawId": "AAAA", "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"}}',
    "{" * 500,
    "\x00\ud7ff" * 50,
]


@pytest.mark.parametrize("junk", JUNK)
def test_hostile_credentials_are_refused_without_an_error_page(key, owner, junk):
    client = Client(raise_request_exception=False)
    sign_in(client, owner.email)
    _options(client, "mfa:challenge_key_options")
    response = client.post(reverse("mfa:challenge"), {"credential": junk})
    assert response.status_code == 400
    assert client.get(reverse("console:home")).status_code == 302
    # The same junk as a registration changes nothing.
    admin = Client(raise_request_exception=False)
    admin.force_login(owner)
    _options(admin, "mfa:key_options")
    assert admin.post(reverse("mfa:key_add"), {"name": "Junk", "credential": junk}).status_code == 302
    assert SecurityKey.objects.filter(user=owner).count() == 1


def test_a_stored_key_with_a_broken_public_key_is_refused(key, owner):
    SecurityKey.objects.filter(user=owner).update(public_key=b"\x00not-cbor")
    client = Client(raise_request_exception=False)
    sign_in(client, owner.email)
    assertion = key.get(_options(client, "mfa:challenge_key_options"))
    assert client.post(reverse("mfa:challenge"), {"credential": assertion}).status_code == 400
