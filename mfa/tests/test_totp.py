"""Authenticator-app codes: enrolment through the pages, the gate after the password, one use
per code, clock drift, and throttled guesses — all on the project clock with real pyotp codes."""

from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from console.models import AuditEvent
from console.tests.factories import MembershipFactory
from mfa.models import TotpDevice
from mfa.tests.conftest import code_now, enrol_totp, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(clock, admin_client, owner):
    secret = enrol_totp(admin_client)
    # Two steps on: the enrolment code's step is spent, the one before now is not.
    clock.advance(timedelta(seconds=60))
    return owner, secret


def test_enrolment_shows_a_local_qr_code_and_the_secret(clock, admin_client):
    response = admin_client.get(reverse("mfa:totp_add"))
    body = response.content.decode()
    secret = admin_client.session["mfa_totp_setup_secret"]
    assert 'src="data:image/svg+xml' in body  # rendered here, not fetched from a QR service
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in body
    # The same secret until it is confirmed (a reload must not invalidate what was scanned).
    admin_client.get(reverse("mfa:totp_add"))
    assert admin_client.session["mfa_totp_setup_secret"] == secret


def test_a_confirmed_app_turns_two_factor_on_and_shows_ten_recovery_codes_once(clock, admin_client, owner):
    admin_client.get(reverse("mfa:totp_add"))
    secret = admin_client.session["mfa_totp_setup_secret"]
    response = admin_client.post(reverse("mfa:totp_add"), {"code": code_now(secret)})
    assert response.status_code == 200
    assert response.content.decode().count("<li><code>") == 10
    owner.refresh_from_db()
    assert owner.two_factor_enabled
    assert TotpDevice.objects.get(user=owner).secret == secret
    assert AuditEvent.objects.filter(action="mfa.totp_added", actor_user=owner).exists()
    assert "mfa_totp_setup_secret" not in admin_client.session


def test_a_wrong_code_at_enrolment_changes_nothing(clock, admin_client, owner):
    admin_client.get(reverse("mfa:totp_add"))
    secret = admin_client.session["mfa_totp_setup_secret"]
    wrong = code_now(secret, offset_steps=5)
    response = admin_client.post(reverse("mfa:totp_add"), {"code": wrong})
    assert response.status_code == 400
    assert "does not match" in response.content.decode()
    assert not TotpDevice.objects.exists()
    owner.refresh_from_db()
    assert not owner.two_factor_enabled


def test_after_the_password_only_the_challenge_and_sign_out_are_reachable(enrolled):
    owner, secret = enrolled
    client = Client()
    response = sign_in(client, owner.email)
    assert response.status_code == 302
    for url in (reverse("console:home"), reverse("console:users"), reverse("domains:list"), reverse("mfa:security")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("mfa:challenge")), url
    assert client.post(reverse("console:user_change_role", args=[1]), {"role": "owner"}).status_code == 302
    assert client.get(reverse("mfa:challenge")).status_code == 200
    # JSON callers get a plain refusal, not a page.
    assert client.get(reverse("console:home"), HTTP_ACCEPT="application/json").status_code == 403


def test_the_right_code_completes_the_sign_in_with_a_new_session(enrolled):
    owner, secret = enrolled
    client = Client()
    sign_in(client, owner.email)
    before = client.session.session_key
    response = client.post(reverse("mfa:challenge"), {"code": code_now(secret), "next": reverse("console:users")})
    assert response.status_code == 302 and response["Location"] == reverse("console:users")
    assert client.session.session_key != before
    assert client.get(reverse("console:home")).status_code == 200
    event = AuditEvent.objects.get(action="user.two_factor_passed")
    assert event.detail["method"] == "totp" and event.actor_user == owner


def test_a_code_is_accepted_once(enrolled):
    owner, secret = enrolled
    first, second = Client(), Client()
    sign_in(first, owner.email)
    sign_in(second, owner.email)
    code = code_now(secret)
    assert first.post(reverse("mfa:challenge"), {"code": code}).status_code == 302
    response = second.post(reverse("mfa:challenge"), {"code": code})
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert second.get(reverse("console:home")).status_code == 302  # still at the gate


def test_one_step_of_clock_drift_is_allowed_and_two_are_not(enrolled, clock):
    owner, secret = enrolled
    client = Client()
    sign_in(client, owner.email)
    # The step of the enrolment code itself is spent: refused though within the drift.
    clock.advance(timedelta(seconds=-30))
    assert client.post(reverse("mfa:challenge"), {"code": code_now(secret, offset_steps=-1)}).status_code == 400
    clock.advance(timedelta(seconds=30))
    assert client.post(reverse("mfa:challenge"), {"code": code_now(secret, offset_steps=-2)}).status_code == 400
    assert client.post(reverse("mfa:challenge"), {"code": code_now(secret, offset_steps=+2)}).status_code == 400
    assert client.post(reverse("mfa:challenge"), {"code": code_now(secret, offset_steps=-1)}).status_code == 302


def test_the_code_may_be_typed_with_a_space(enrolled):
    owner, secret = enrolled
    client = Client()
    sign_in(client, owner.email)
    code = code_now(secret)
    assert client.post(reverse("mfa:challenge"), {"code": f" {code[:3]} {code[3:]} "}).status_code == 302


def test_guesses_are_throttled_and_the_pause_ends_with_the_window(enrolled, clock, settings):
    owner, secret = enrolled
    client = Client()
    sign_in(client, owner.email)
    wrong = str((int(code_now(secret)) + 1) % 1_000_000).zfill(6)
    for _attempt in range(settings.MFA_FAILURES_PER_USER):
        assert client.post(reverse("mfa:challenge"), {"code": wrong}).status_code == 400
    # Even the right code is not checked now.
    response = client.post(reverse("mfa:challenge"), {"code": code_now(secret)})
    assert response.status_code == 400 and "Too many wrong codes" in response.content.decode()
    assert AuditEvent.objects.filter(action="user.two_factor_locked").exists()
    assert AuditEvent.objects.filter(action="user.two_factor_failed").count() == settings.MFA_FAILURES_PER_USER
    clock.advance(timedelta(seconds=settings.MFA_WINDOW_SECONDS))
    assert client.post(reverse("mfa:challenge"), {"code": code_now(secret)}).status_code == 302


def test_a_user_without_a_second_factor_signs_in_with_the_password_alone(clock, owner):
    client = Client()
    assert sign_in(client, owner.email).status_code == 302
    assert client.get(reverse("console:home")).status_code == 200


def test_removing_the_app_turns_two_factor_off_after_confirmation(enrolled):
    owner, _secret = enrolled
    client = Client()
    client.force_login(owner)  # not a password sign-in of this test's making: no gate
    client.session.save()
    page = client.get(reverse("mfa:totp_remove"))
    assert page.status_code == 200 and "only second factor" in page.content.decode()
    assert TotpDevice.objects.filter(user=owner).exists()  # a GET only asks
    assert client.post(reverse("mfa:totp_remove")).status_code == 302
    owner.refresh_from_db()
    assert not owner.two_factor_enabled and not TotpDevice.objects.filter(user=owner).exists()
    assert not owner.recovery_codes.exists()


def test_another_users_code_does_not_sign_me_in(enrolled, clock, organization):
    owner, secret = enrolled
    other = MembershipFactory(organization=organization, role="administrator").user
    other_client = Client()
    other_client.force_login(other)
    other_secret = enrol_totp(other_client)
    clock.advance(timedelta(seconds=30))
    client = Client()
    sign_in(client, owner.email)
    assert client.post(reverse("mfa:challenge"), {"code": pyotp.TOTP(other_secret).at(clock.now())}).status_code == 400
