"""The security audit trail: who verified an address, set or changed a password, downloaded a
report of people, from which address and browser; and the Audit log exported as CSV and NDJSON
(streamed, each event as a sentence in the reader's language), kept for a set retention."""

import csv
import io
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from console import audit, registration
from console.models import AuditEvent, Membership
from console.tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from domains.tests.factories import DomainFactory
from imports import services as import_services

pytestmark = pytest.mark.django_db

BROWSER = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "Mozilla/5.0 (Audit test)"}
WHERE = {"address": "203.0.113.7", "user_agent": "Mozilla/5.0 (Audit test)"}


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db):
    organization = OrganizationFactory(name="Acme", features=["bulk_user_import"])
    organization.admin = MembershipFactory(
        organization=organization, role=Membership.Role.OWNER, user__email="owner@acme.test"
    ).user
    return organization


def last(action):
    return AuditEvent.objects.filter(action=action).latest("pk")


def test_verifying_an_address_records_it_with_the_address_and_browser(clock):
    user = UserFactory(email="new@acme.test", email_verified=False)
    token = registration.email_verification_token(user)
    Client().post(reverse("console:verify_email", args=[token]), **BROWSER)
    event = last("user.email_verified")
    assert event.detail == {"email": "new@acme.test", **WHERE} and event.actor_user == user


def test_setting_a_password_through_a_link_is_a_reset_with_the_address_and_browser(clock, org):
    user = MembershipFactory(organization=org, user__email_verified=False).user
    client = Client()
    landing = client.get(urlsplit(registration.set_password_url(user)).path, **BROWSER)
    form_url = landing["Location"]
    response = client.post(form_url, {"new_password1": "a-brand-new-pass-77", "new_password2": "a-brand-new-pass-77"}, **BROWSER)
    assert response.status_code == 302
    reset = last("user.password_reset")
    assert reset.detail == WHERE and reset.organization == org
    assert last("user.email_verified").detail["through"] == "set_password_link"


def test_changing_ones_password_is_recorded(clock, org):
    client = Client()
    client.force_login(org.admin)
    response = client.post(
        reverse("console:password_change"),
        {"old_password": PASSWORD, "new_password1": "another-good-pass-88", "new_password2": "another-good-pass-88"},
        **BROWSER,
    )
    assert response.status_code == 302
    assert last("user.password_changed").detail == WHERE
    # A wrong current password changes nothing and records nothing more.
    client.post(
        reverse("console:password_change"),
        {"old_password": "wrong", "new_password1": "x-another-pass-99", "new_password2": "x-another-pass-99"},
    )
    assert AuditEvent.objects.filter(action="user.password_changed").count() == 1


def test_sign_in_failures_and_sign_out_carry_the_address_and_browser(clock, org):
    client = Client()
    client.post(reverse("console:login"), {"username": "owner@acme.test", "password": "wrong"}, **BROWSER)
    assert last("user.signin_failed").detail == {"email": "owner@acme.test", **WHERE}
    client.post(reverse("console:login"), {"username": "owner@acme.test", "password": PASSWORD}, **BROWSER)
    assert last("user.signed_in").detail == WHERE
    client.post(reverse("console:logout"), **BROWSER)
    assert last("user.signed_out").detail == WHERE


def report_job(org):
    domain = DomainFactory(organization=org, name="acme.test")
    UserFactory(email="person@acme.test")
    job = import_services.create_report_job(domain=domain, actor=org.admin, enqueue=False)
    import_services.build_report(job.pk)
    return job


def test_downloading_a_report_csv_is_audited(clock, org):
    job = report_job(org)
    client = Client()
    client.force_login(org.admin)
    response = client.get(reverse("imports:job_csv", args=[job.pk]), **BROWSER)
    b"".join(response.streaming_content)
    event = last("imports.report_downloaded")
    assert event.actor_user == org.admin and event.target_id == str(job.pk)
    assert event.detail == {"domain": "acme.test", "rows": 1, **WHERE}


def test_downloading_a_report_csv_through_the_api_is_audited_with_the_token(clock, org):
    from api import tokens
    from api.models import Scope

    job = report_job(org)
    token, secret = tokens.create_token(organization=org, name="CI", scopes=[Scope.IMPORTS_READ], created_by=org.admin, actor=org.admin)
    response = Client().get(reverse("api:import_job_csv", args=[job.pk]), HTTP_AUTHORIZATION=f"Bearer {secret}", **BROWSER)
    assert response.status_code == 200
    event = last("imports.report_downloaded")
    assert event.actor_kind == "token" and event.detail["token"]["name"] == "CI" and event.detail["address"] == WHERE["address"]


def export(client, **params):
    response = client.get(reverse("console:audit"), params)
    assert isinstance(response, StreamingHttpResponse) and response["Cache-Control"] == "no-store"
    return b"".join(response.streaming_content).decode()


def test_the_audit_log_exports_the_filtered_list_as_csv_and_ndjson_in_the_readers_language(clock, org):
    domain = DomainFactory(organization=org, name="acme.test")
    audit.record("domain.verified", organization=org, actor=org.admin, target=domain, detail={"note": "=HYPERLINK()"})
    audit.record("user.signed_in", organization=org, actor=org.admin, target=org.admin, detail=WHERE)
    other = OrganizationFactory(name="Globex")
    audit.record("domain.verified", organization=other, actor_kind="system", detail={"secret": "globex"})
    client = Client()
    client.force_login(org.admin)

    rows = list(csv.DictReader(io.StringIO(export(client, action="domain.verified", format="csv"))))
    assert [(r["action"], r["sentence"], r["concerning"]) for r in rows] == [("domain.verified", "Domain verified", "acme.test")]
    assert rows[0]["detail"].startswith("{") and "'=HYPERLINK" not in rows[0]["detail"]  # JSON text, not a formula start
    assert rows[0]["actor_email"] == "owner@acme.test"

    client.cookies["django_language"] = "ja"
    lines = export(client, format="ndjson").splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["action"] for r in records} == {"domain.verified", "user.signed_in", "audit.exported"}  # not Globex's
    assert {r["sentence"] for r in records} >= {"ドメインを検証", "サインイン"}
    assert "globex" not in "".join(lines)
    exported = last("audit.exported")
    assert exported.detail["format"] == "ndjson" and exported.organization == org


def test_the_audit_page_links_both_exports_with_its_filters(clock, org):
    client = Client()
    client.force_login(org.admin)
    audit.record("domain.verified", organization=org, actor=org.admin)
    page = client.get(reverse("console:audit"), {"action": "domain.verified"}).content.decode()
    assert "action=domain.verified&amp;format=csv" in page and "format=ndjson" in page
    # A filter that does not validate exports nothing and says why.
    refused = client.get(reverse("console:audit"), {"date_from": "2026-02-01", "date_to": "2026-01-01", "format": "csv"})
    assert not isinstance(refused, StreamingHttpResponse) and "The end date is before the start date." in refused.content.decode()


def test_events_older_than_the_retention_are_purged(clock, org, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = audit.record("user.signed_in", organization=org, actor=org.admin)
    clock.advance(timedelta(days=31))
    recent = audit.record("user.signed_in", organization=org, actor=org.admin)
    assert audit.purge_expired(batch_size=1) == 1
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    settings.AUDIT_RETENTION_DAYS = 0
    clock.advance(timedelta(days=3650))
    assert audit.purge_expired() == 0
