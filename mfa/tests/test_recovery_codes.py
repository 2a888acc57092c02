"""Recovery codes: ten, shown once, stored as digests, each signs in once, new ones replace old."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from console.models import AuditEvent
from mfa.models import RecoveryCode
from mfa.tests.conftest import enrol_totp, sign_in

pytestmark = pytest.mark.django_db


def _codes(response) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.content.decode())


@pytest.fixture
def codes(clock, admin_client):
    enrol_totp(admin_client)
    response = admin_client.post(reverse("mfa:recovery_codes"))
    assert response.status_code == 200
    return _codes(response)


def test_ten_codes_are_shown_and_only_their_digests_are_kept(codes, owner):
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=owner).values_list("digest", flat=True))
    assert stored == {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    for code in codes:
        assert not RecoveryCode.objects.filter(digest__contains=code.replace("-", "")).exists()
    assert AuditEvent.objects.filter(action="mfa.recovery_codes_generated").count() == 2  # enrolment + this


def test_the_security_page_never_shows_them_again(codes, admin_client):
    body = admin_client.get(reverse("mfa:security")).content.decode()
    assert not any(code in body for code in codes)
    assert "10 unused recovery codes" in body


def test_each_code_signs_in_once(codes, owner, clock):
    client = Client()
    sign_in(client, owner.email)
    response = client.post(reverse("mfa:challenge"), {"code": codes[0].upper()})  # case does not matter
    assert response.status_code == 302
    assert client.get(reverse("console:home")).status_code == 200
    assert AuditEvent.objects.filter(action="user.two_factor_passed", detail__method="recovery_code").count() == 1

    again = Client()
    sign_in(again, owner.email)
    assert again.post(reverse("mfa:challenge"), {"code": codes[0]}).status_code == 400
    assert again.post(reverse("mfa:challenge"), {"code": codes[1]}).status_code == 302
    assert RecoveryCode.objects.filter(user=owner, used_at__isnull=False).count() == 2


def test_new_codes_replace_the_old_ones(codes, admin_client, owner, clock):
    clock.advance(timedelta(minutes=1))
    new_codes = _codes(admin_client.post(reverse("mfa:recovery_codes")))
    assert set(new_codes).isdisjoint(codes)
    client = Client()
    sign_in(client, owner.email)
    assert client.post(reverse("mfa:challenge"), {"code": codes[2]}).status_code == 400
    assert client.post(reverse("mfa:challenge"), {"code": new_codes[2]}).status_code == 302


def test_making_new_codes_asks_first(codes, admin_client, owner):
    page = admin_client.get(reverse("mfa:recovery_codes"))
    assert page.status_code == 200 and "stop working" in page.content.decode()
    assert RecoveryCode.objects.filter(user=owner).count() == 10
    assert {c.digest for c in RecoveryCode.objects.filter(user=owner)} == {
        hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes
    }


def test_codes_need_a_factor_first(clock, admin_client, owner):
    response = admin_client.post(reverse("mfa:recovery_codes"))
    assert response.status_code == 302
    assert not RecoveryCode.objects.filter(user=owner).exists()


def test_another_users_recovery_code_is_refused(codes, clock, organization):
    from console.tests.factories import MembershipFactory

    other = MembershipFactory(organization=organization, role="administrator").user
    other_client = Client()
    other_client.force_login(other)
    enrol_totp(other_client)
    client = Client()
    sign_in(client, other.email)
    assert client.post(reverse("mfa:challenge"), {"code": codes[0]}).status_code == 400
