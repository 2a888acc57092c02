"""Public sign-up, the signed e-mail verification link, and auto-add after verification."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from console import registration
from console.errors import ConsoleError
from console.models import Membership, User
from console.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase-42"


def sign_up(client, email, capture):
    with capture(execute=True):
        return client.post(
            reverse("console:sign_up"),
            {"email": email, "full_name": "New Person", "password1": PASSWORD, "password2": PASSWORD},
        )


def link_in(message) -> str:
    return re.search(r"https?://\S+/verify-email/\S+/", message.body).group(0)


def test_sign_up_creates_an_independent_unverified_user_and_sends_a_signed_link(
    client, django_capture_on_commit_callbacks
):
    response = sign_up(client, "new@somewhere.test", django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response.url == reverse("console:sign_up_done")
    user = User.objects.get(email="new@somewhere.test")
    assert not user.email_verified and user.check_password(PASSWORD)
    assert not Membership.objects.filter(user=user).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@somewhere.test"]
    assert mail.outbox[0].alternatives  # an HTML part as well

    path = link_in(mail.outbox[0]).split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200  # a page with a button, not yet verified
    user.refresh_from_db()
    assert not user.email_verified
    response = client.post("/" + path)
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email_verified


def test_sign_up_does_not_reveal_an_existing_address(client, django_capture_on_commit_callbacks):
    UserFactory(email="known@somewhere.test")
    first = sign_up(client, "known@somewhere.test", django_capture_on_commit_callbacks)
    second = sign_up(client, "unknown@somewhere.test", django_capture_on_commit_callbacks)
    assert (first.status_code, first.url) == (second.status_code, second.url)
    assert User.objects.filter(email="known@somewhere.test").count() == 1
    known, unknown = mail.outbox
    assert known.to == ["known@somewhere.test"] and "already have a user" in known.body
    assert "/verify-email/" not in known.body
    assert "/verify-email/" in unknown.body


def test_the_link_is_valid_for_three_days(clock):
    user = UserFactory(email="late@somewhere.test", email_verified=False)
    token = registration.email_verification_token(user)
    clock.advance(timedelta(days=3) - timedelta(seconds=1))
    assert registration.user_for_verification_token(token) == user
    clock.advance(timedelta(seconds=2))
    with pytest.raises(ConsoleError) as error:
        registration.verify_email(token=token)
    assert error.value.code == "expired"
    user.refresh_from_db()
    assert not user.email_verified


def test_a_tampered_or_stale_link_is_refused(client):
    user = UserFactory(email="me@somewhere.test", email_verified=False)
    token = registration.email_verification_token(user)
    assert client.get(reverse("console:verify_email", args=[token + "x"])).status_code == 400
    user.email = "changed@somewhere.test"
    user.save()
    with pytest.raises(ConsoleError):
        registration.verify_email(token=token)


def test_an_unverified_user_can_ask_for_a_new_link(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="slow@somewhere.test", email_verified=False)
    client.force_login(user)
    page = client.get(reverse("console:home"))
    assert page.status_code == 403 and b"Send a new verification link" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:resend_verification"))
    assert mail.outbox[0].to == ["slow@somewhere.test"] and "/verify-email/" in mail.outbox[0].body
