"""/api/v1/domains: the same services, rules and words as the console's Domains section."""

import pytest

from api.tests.conftest import TokenClient
from console.models import AuditEvent
from console.tests.factories import OrganizationFactory
from domains.models import Domain, DomainCheck
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db

HELD_ELSEWHERE = "This domain has been verified by another organization. If you own it, contact support."


def test_list_filters_by_status_and_hides_removed_domains(api, org):
    DomainFactory(organization=org, name="a.test")
    DomainFactory(organization=org, name="b.test", pending=True)
    DomainFactory(organization=org, name="gone.test", removed=True)
    DomainFactory(organization=OrganizationFactory(), name="other.test")
    assert [d["name"] for d in api.get("/api/v1/domains").json()["results"]] == ["a.test", "b.test"]
    assert [d["name"] for d in api.get("/api/v1/domains?status=pending").json()["results"]] == ["b.test"]
    assert api.get("/api/v1/domains?status=removed").status_code == 400


def test_add_normalises_like_the_form_and_returns_the_record_to_publish(api, org, org_owner):
    response = api.post("/api/v1/domains", {"domain": "  https://Bücher.Example/path "}, format="json")
    assert response.status_code == 201
    body = response.json()
    domain = Domain.objects.get(organization=org)
    assert body["name"] == "xn--bcher-kva.example" and body["unicode_name"] == "bücher.example"
    assert body["status"] == "pending" and body["notes"]
    assert body["verification"]["txt_host"] == "_twilio.xn--bcher-kva.example"
    assert body["verification"]["txt_value"] == f"twilio-domain-verification={domain.token}"
    assert body["verification"]["html_file_url"] == "https://xn--bcher-kva.example/twilio-domain-verification.html"
    assert response["Location"] == f"/api/v1/domains/{domain.pk}" and response["ETag"]
    assert domain.created_by == org_owner
    event = AuditEvent.objects.get(action="domain.added")
    assert event.actor_kind == AuditEvent.ActorKind.TOKEN and event.actor_user == org_owner
    assert event.detail["token"]["name"] == "Pipeline"


@pytest.mark.parametrize(
    ("text", "status", "code"),
    [("gmail.com", 422, None), ("co.uk", 422, None), ("192.0.2.1", 422, None), ("", 422, None)],
)
def test_add_refuses_what_the_form_refuses(api, text, status, code):
    response = api.post("/api/v1/domains", {"domain": text}, format="json")
    assert response.status_code in (status, 409) and response.json()["detail"]
    assert not Domain.objects.exists()


def test_add_a_duplicate_points_at_the_existing_domain(api, org):
    existing = DomainFactory(organization=org, name="acme.test", pending=True)
    response = api.post("/api/v1/domains", {"domain": "ACME.test."}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "duplicate"
    assert response.json()["domain_id"] == existing.pk
    assert response["Location"] == f"/api/v1/domains/{existing.pk}"


def test_add_refuses_a_domain_verified_elsewhere_without_naming_it(api):
    DomainFactory(organization=OrganizationFactory(name="Globex"), name="held.test")
    response = api.post("/api/v1/domains", {"domain": "held.test"}, format="json")
    assert response.status_code == 409 and response.json()["detail"] == HELD_ELSEWHERE
    assert "Globex" not in response.content.decode()


def test_add_respects_the_per_organization_limit(api, org, settings):
    settings.DOMAIN_MAX_PER_ORGANIZATION = 1
    DomainFactory(organization=org, name="one.test")
    response = api.post("/api/v1/domains", {"domain": "two.test"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "limit"


def test_verify_now_verifies_when_the_record_is_published(clock, api, org, org_owner, dns_server, dns_settings):
    domain = DomainFactory(organization=org, name="acme.test", pending=True)
    dns_server.set_txt(domain.txt_host, domain.txt_value)
    response = api.post(f"/api/v1/domains/{domain.pk}/verify")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "verified" and body["message"] == "acme.test is verified."
    assert body["domain"]["status"] == "verified" and body["check"]["outcome"] == "verified"
    check = DomainCheck.objects.get(domain=domain)
    assert check.trigger == DomainCheck.Trigger.USER and check.triggered_by == org_owner
    event = AuditEvent.objects.get(action="domain.verified")
    assert event.actor_kind == AuditEvent.ActorKind.TOKEN and "token" in event.detail


def test_verify_now_without_the_record_says_what_it_found_in_the_readers_language(
    clock, make_token, org, dns_server, dns_settings
):
    domain = DomainFactory(organization=org, name="absent.test", pending=True)
    dns_server.set_txt(domain.txt_host, "twilio-domain-verification=0123456789abcdef0123456789abcdef")
    _token, secret = make_token()
    english = TokenClient(secret).post(f"/api/v1/domains/{domain.pk}/verify").json()
    assert english["outcome"] == "not_yet" and english["check"]["outcome"] in ("mismatch", "not_found")
    assert english["check"]["detail"] and english["check"]["diagnostics"]
    japanese = TokenClient(secret, language="ja").get(f"/api/v1/domains/{domain.pk}").json()
    assert japanese["last_checks"][0]["detail"] != english["check"]["detail"]
    assert japanese["last_checks"][0]["id"] == english["check"]["id"]


def test_verify_now_is_rate_limited_with_retry_after(clock, api, org, settings, dns_server, dns_settings):
    settings.VERIFY_RATE_PER_DOMAIN = 2
    domain = DomainFactory(organization=org, name="acme.test", pending=True)
    for _ in range(2):
        assert api.post(f"/api/v1/domains/{domain.pk}/verify").status_code == 200
    refused = api.post(f"/api/v1/domains/{domain.pk}/verify")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= settings.VERIFY_RATE_WINDOW_SECONDS
    assert "Try again in" in refused.json()["detail"]
    assert DomainCheck.objects.filter(domain=domain).count() == 2


def test_change_method_and_settings(api, org):
    domain = DomainFactory(organization=org, name="acme.test", pending=True, auto_add_new_users=True)
    response = api.patch(
        f"/api/v1/domains/{domain.pk}", {"method": "https", "auto_add_new_users": False}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["method"] == "https" and response.json()["auto_add_new_users"] is False
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {"domain.method_changed", "domain.settings_changed"}
    bad = api.patch(f"/api/v1/domains/{domain.pk}", {"method": "carrier-pigeon"}, format="json")
    assert bad.status_code == 422


def test_a_verified_domain_switches_method_only_once_the_new_method_verifies(api, org):
    domain = DomainFactory(organization=org, name="acme.test", auto_add_new_users=True)
    refused = api.patch(
        f"/api/v1/domains/{domain.pk}", {"method": "https", "auto_add_new_users": False}, format="json"
    )
    assert refused.status_code == 409 and "did not switch" in refused.json()["detail"]
    domain.refresh_from_db()
    assert domain.method == "dns" and domain.auto_add_new_users is True
    assert domain.status == Domain.Status.VERIFIED
    # The refused attempt is kept, so the admin can see what the new method found.
    assert DomainCheck.objects.filter(domain=domain, method="https").count() == 1


def test_delete_keeps_a_record(api, org, org_owner):
    domain = DomainFactory(organization=org, name="acme.test")
    assert api.delete(f"/api/v1/domains/{domain.pk}").status_code == 204
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REMOVED and domain.removal_reason == f"Deleted by {org_owner.email}"
    assert api.get(f"/api/v1/domains/{domain.pk}").status_code == 404


def test_the_html_file_download(api, org):
    domain = DomainFactory(organization=org, name="acme.test", pending=True)
    response = api.get(f"/api/v1/domains/{domain.pk}/html-file")
    assert response.status_code == 200 and domain.token in response.content.decode()
    assert response["Content-Type"].startswith("text/html")


def test_another_organizations_domain_is_404_for_every_operation(api, dns_settings):
    other = DomainFactory(organization=OrganizationFactory(), name="globex.test", pending=True)
    for method, path in [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/verify"),
        ("get", "/html-file"),
    ]:
        body = {} if method == "get" else {"method": "https"}
        response = getattr(api, method)(f"/api/v1/domains/{other.pk}{path}", body, format="json")
        assert response.status_code == 404, (method, path)
    other.refresh_from_db()
    assert other.status == Domain.Status.PENDING and other.method == "dns" and not other.checks.exists()
