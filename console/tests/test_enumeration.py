"""No account enumeration and no mail flooding: sign-up, password reset and the verification
link answer the same whether or not the address has a user, and every e-mail a visitor can
trigger is rate-limited per recipient and per client address, with the time to retry."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from console.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


def _sign_up(client, email):
    return client.post(
        reverse("console:sign_up"),
        {"email": email, "full_name": "", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


def test_sign_up_answers_the_same_for_a_known_and_an_unknown_address(django_capture_on_commit_callbacks):
    UserFactory(email="known@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        known = _sign_up(Client(), "known@example.com")
        unknown = _sign_up(Client(), "unknown@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("console:sign_up_done")
    assert sorted(message.to[0] for message in mail.outbox) == ["known@example.com", "unknown@example.com"]


def test_password_reset_answers_the_same_and_the_worker_sends_only_to_a_user(
    django_capture_on_commit_callbacks, settings
):
    settings.CONSOLE_BASE_URL = "https://console.example.org"
    settings.ALLOWED_HOSTS = ["*"]  # even where any Host header gets through, links use CONSOLE_BASE_URL
    UserFactory(email="known@example.com")
    responses = []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for email in ("known@example.com", "unknown@example.com"):
            responses.append(Client(HTTP_HOST="evil.example").post(reverse("console:password_reset"), {"email": email}))
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0]["Location"] == responses[1]["Location"]
    assert len(callbacks) == 2  # the same work queued for both: a task each
    from console import registration

    with django_capture_on_commit_callbacks(execute=True):
        assert registration.send_password_reset("known@example.com") is True
        assert registration.send_password_reset("unknown@example.com") is False
    assert [m.to for m in mail.outbox] == [["known@example.com"]]
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    assert link.startswith("https://console.example.org/set-password/")  # never the request's Host
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    page = Client().get(path, follow=True)
    assert page.context["validlink"]


def test_e_mails_to_one_recipient_are_rate_limited_with_the_time_to_retry(settings):
    settings.MAIL_RATE_PER_RECIPIENT = 2
    for number in range(2):
        assert _sign_up(Client(REMOTE_ADDR=f"198.51.100.{number}"), "flood@example.com").status_code == 302
    refused = _sign_up(Client(REMOTE_ADDR="198.51.100.9"), "flood@example.com")
    assert refused.status_code == 200
    assert re.search(r"Try again in \d+ minutes?", refused.content.decode())
    # The same for an address that has a user: the limit says nothing about existence.
    UserFactory(email="known@example.com")
    for number in range(2):
        Client(REMOTE_ADDR=f"203.0.113.{number}").post(reverse("console:password_reset"), {"email": "known@example.com"})
    refused = Client(REMOTE_ADDR="203.0.113.9").post(reverse("console:password_reset"), {"email": "known@example.com"})
    assert refused.status_code == 200 and "Try again in" in refused.content.decode()


def test_e_mails_from_one_client_address_are_rate_limited(settings):
    settings.MAIL_RATE_PER_ADDRESS = 3
    client = Client(REMOTE_ADDR="203.0.113.50")
    for number in range(3):
        assert client.post(reverse("console:password_reset"), {"email": f"u{number}@example.com"}).status_code == 302
    refused = client.post(reverse("console:password_reset"), {"email": "u9@example.com"})
    assert refused.status_code == 200 and "Try again in" in refused.content.decode()


def test_the_verification_link_can_be_resent_only_so_often(settings, django_capture_on_commit_callbacks):
    settings.MAIL_RATE_PER_RECIPIENT = 1
    user = UserFactory(email="slow@example.com", email_verified=False)
    client = Client()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:resend_verification"))
        response = client.post(reverse("console:resend_verification"), follow=True)
    assert len(mail.outbox) == 1
    assert "Try again in" in response.content.decode()
    assert user.check_password(PASSWORD)
