import pyotp
import pytest
from django.urls import reverse

from console import clock as console_clock
from console.tests.factories import PASSWORD

ORIGIN = "https://console.example.test"


@pytest.fixture(autouse=True)
def _webauthn_site(settings):
    settings.MFA_WEBAUTHN_ORIGIN = ORIGIN
    settings.MFA_WEBAUTHN_RP_ID = "console.example.test"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, email, password=PASSWORD):
    """The real sign-in form (a password sign-in, unlike force_login in spirit)."""
    return client.post(reverse("console:login"), {"username": email, "password": password})


def code_now(secret: str, *, offset_steps: int = 0) -> str:
    """What the user's authenticator app shows now, on the project clock."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(console_clock.now()) + offset_steps)


def enrol_totp(client) -> str:
    """Set up an authenticator app through the pages; returns its secret."""
    client.get(reverse("mfa:totp_add"))
    secret = client.session["mfa_totp_setup_secret"]
    response = client.post(reverse("mfa:totp_add"), {"code": code_now(secret)})
    assert response.status_code == 200, response
    assert b"recovery-codes" in response.content
    return secret
