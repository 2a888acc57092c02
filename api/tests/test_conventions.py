"""What every endpoint shares: problem+json in the request's language, cursor pages, the
per-token rate limit and its headers, Idempotency-Key, If-Match, no cookies, the schema and docs."""

from datetime import timedelta

import pytest
from django.test import Client

from api.models import IdempotencyRecord
from api.tests.conftest import TokenClient
from console.models import AuditEvent
from domains.models import Domain
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db


# --- Problems --------------------------------------------------------------------------------


def test_a_service_refusal_is_a_problem_with_the_consoles_words_in_english_and_japanese(make_token):
    _token, secret = make_token()
    english = TokenClient(secret).post("/api/v1/domains", {"domain": "gmail.com"}, format="json")
    japanese = TokenClient(secret, language="ja").post("/api/v1/domains", {"domain": "gmail.com"}, format="json")
    for response in (english, japanese):
        assert response.status_code in (409, 422)
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "about:blank" and body["status"] == response.status_code and body["code"]
    assert english["Content-Language"] == "en" and japanese["Content-Language"] == "ja"
    assert english.json()["detail"] != japanese.json()["detail"]
    assert any("\u3040" <= character <= "\u30ff" for character in japanese.json()["detail"])  # kana


def test_the_problem_detail_is_the_forms_message(api):
    """A missing domain gets the Add Domain form's own message."""
    response = api.post("/api/v1/domains", {}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"] == "Enter a domain, for example example.com."
    assert response.json()["errors"] == {"domain": ["Enter a domain, for example example.com."]}


def test_unknown_paths_wrong_methods_bad_json_and_form_bodies_are_problems(api):
    assert api.get("/api/v1/no-such-thing").json()["status"] == 404
    wrong = api.put("/api/v1/domains", {}, format="json")
    assert wrong.status_code == 405 and "GET" in wrong["Allow"]
    bad = api.generic("POST", "/api/v1/domains", b"{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_json"
    form = api.post("/api/v1/domains", {"domain": "a.test"})  # multipart, not JSON
    assert form.status_code == 415 and form["Content-Type"] == "application/problem+json"
    listed = api.post("/api/v1/domains", ["a.test"], format="json")
    assert listed.status_code == 400


def test_a_session_cookie_does_not_authenticate_the_api(org_owner):
    client = Client()
    client.force_login(org_owner)
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/domains", {"domain": "x.test"}, content_type="application/json").status_code == 401


# --- Pages -------------------------------------------------------------------------------------


def test_cursor_pages_walk_every_row_once(api, org, settings):
    Domain.objects.bulk_create(
        [Domain(organization=org, name=f"d{i:02}.test", unicode_name=f"d{i:02}.test") for i in range(25)]
    )
    seen, url = [], "/api/v1/domains?limit=10"
    while url:
        body = api.get(url).json()
        seen += [domain["name"] for domain in body["results"]]
        url = body["next"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 25


def test_a_tampered_cursor_is_404_and_unknown_parameters_are_400(api):
    response = api.get("/api/v1/domains?cursor=!!not-base64!!")
    assert response.status_code == 404 and response.json()["code"] == "invalid_cursor"
    typo = api.get("/api/v1/domains?stauts=pending")
    assert typo.status_code == 400 and typo.json()["errors"] == {"stauts": ["Unknown query parameter."]}
    assert api.get("/api/v1/domains?limit=0").status_code == 400
    assert api.get("/api/v1/domains?limit=1001").status_code == 400
    assert api.get("/api/v1/domains?limit=1000").status_code == 200 and response.json()["code"] == "invalid_cursor"


def test_list_query_counts_are_bounded(api, org, django_assert_max_num_queries):
    Domain.objects.bulk_create(
        [Domain(organization=org, name=f"d{i:03}.test", unicode_name=f"d{i:03}.test") for i in range(100)]
    )
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/v1/domains").json()["results"]) == 100
    with django_assert_max_num_queries(6):
        api.get("/api/v1/users")
    with django_assert_max_num_queries(6):
        api.get("/api/v1/audit-events")


# --- Rate limit --------------------------------------------------------------------------------


def test_each_token_has_its_own_rate_limit_with_headers(clock, make_token, settings):
    settings.API_RATE_PER_TOKEN = 3
    _a, first = make_token(name="A")
    _b, second = make_token(name="B")
    client = TokenClient(first)
    responses = [client.get("/api/v1/me") for _ in range(3)]
    assert [r["RateLimit"].split(";")[1] for r in responses] == ["r=2", "r=1", "r=0"]
    assert responses[0]["RateLimit-Policy"] == '"per-token";q=3;w=60'
    refused = client.get("/api/v1/me")
    assert refused.status_code == 429 and refused["Content-Type"] == "application/problem+json"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert TokenClient(second).get("/api/v1/me").status_code == 200  # another token is not affected
    clock.advance(timedelta(seconds=int(refused["Retry-After"])))
    assert client.get("/api/v1/me").status_code == 200


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_first_response(api, org):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-example-1"}
    first = api.post("/api/v1/domains", {"domain": "Example.ORG"}, format="json", **headers)
    again = api.post("/api/v1/domains", {"domain": "Example.ORG"}, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Domain.objects.filter(organization=org).count() == 1
    assert AuditEvent.objects.filter(action="domain.added").count() == 1


def test_the_same_key_with_another_body_is_422_and_creates_nothing(api, org):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    api.post("/api/v1/domains", {"domain": "one.example"}, format="json", **headers)
    reused = api.post("/api/v1/domains", {"domain": "two.example"}, format="json", **headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert list(Domain.objects.values_list("name", flat=True)) == ["one.example"]


def test_keys_belong_to_one_token_and_expire(clock, make_token, org, settings):
    _a, first = make_token(name="A")
    _b, second = make_token(name="B")
    headers = {"HTTP_IDEMPOTENCY_KEY": "shared"}
    assert TokenClient(first).post("/api/v1/domains", {"domain": "a.example"}, format="json", **headers).status_code == 201
    assert TokenClient(second).post("/api/v1/domains", {"domain": "b.example"}, format="json", **headers).status_code == 201
    clock.advance(timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS + 1))
    fresh = TokenClient(first).post("/api/v1/domains", {"domain": "c.example"}, format="json", **headers)
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh


def test_a_failed_request_releases_its_key(api, org):
    headers = {"HTTP_IDEMPOTENCY_KEY": "try-again"}
    assert api.post("/api/v1/domains", {"domain": "com"}, format="json", **headers).status_code in (409, 422)
    assert not IdempotencyRecord.objects.exists()
    assert api.post("/api/v1/domains", {"domain": "com"}, format="json", **headers).status_code in (409, 422)


def test_a_request_still_running_with_the_key_is_409(api_token):
    token, secret = api_token
    client = TokenClient(secret)
    body = {"domain": "a.example"}
    # The same request, recorded but without a response yet: the first is still running.
    IdempotencyRecord.objects.create(token=token, key="busy", fingerprint=_fingerprint_for(body))
    response = client.post("/api/v1/domains", body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    assert not Domain.objects.exists()
    assert response.status_code == 409 and response.json()["code"] == "idempotency_in_progress"
    assert response["Retry-After"] == "1"


def _fingerprint_for(body) -> str:
    """The fingerprint the API computes for a POST of `body` to /api/v1/domains."""
    import hashlib
    import json

    text = "\n".join(["POST", "/api/v1/domains", json.dumps(body, sort_keys=True, separators=(",", ":"))])
    return hashlib.sha256(text.encode()).hexdigest()


def test_expired_keys_are_purged_by_the_hourly_task(clock, api_token, settings):
    from api.tasks import purge_idempotency_keys

    token, _secret = api_token
    IdempotencyRecord.objects.create(token=token, key="old", fingerprint="x", created_at=clock.now())
    clock.advance(timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS + 1))
    IdempotencyRecord.objects.create(token=token, key="new", fingerprint="x", created_at=clock.now())
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert "api.purge_idempotency_keys" in settings.CELERY_BEAT_SCHEDULE


def test_a_malformed_key_is_400(api):
    response = api.post("/api/v1/domains", {"domain": "a.example"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400 and not Domain.objects.exists()


# --- ETag / If-Match ---------------------------------------------------------------------------


def test_if_match_refuses_a_stale_write_and_accepts_a_fresh_one(api, org):
    domain = DomainFactory(organization=org, name="acme-corp.example", pending=True, auto_add_new_users=True)
    etag = api.get(f"/api/v1/domains/{domain.pk}")["ETag"]
    changed = api.patch(f"/api/v1/domains/{domain.pk}", {"method": "https"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    stale = api.patch(
        f"/api/v1/domains/{domain.pk}", {"auto_add_new_users": False}, format="json", HTTP_IF_MATCH=etag
    )
    assert stale.status_code == 412 and stale["ETag"] == changed["ETag"]
    domain.refresh_from_db()
    assert domain.method == "https" and domain.auto_add_new_users is True
    assert api.delete(f"/api/v1/domains/{domain.pk}", HTTP_IF_MATCH=etag).status_code == 412
    assert api.delete(f"/api/v1/domains/{domain.pk}", HTTP_IF_MATCH=changed["ETag"]).status_code == 204


def test_the_etag_does_not_depend_on_the_readers_language(make_token, org):
    domain = DomainFactory(organization=org, name="acme-corp.example")
    _token, secret = make_token()
    english = TokenClient(secret).get(f"/api/v1/domains/{domain.pk}")
    japanese = TokenClient(secret, language="ja").get(f"/api/v1/domains/{domain.pk}")
    assert english["ETag"] == japanese["ETag"]
    assert english.json()["status_display"] != japanese.json()["status_display"]


# --- Schema and docs ---------------------------------------------------------------------------


def test_the_schema_is_openapi_3_and_lists_every_operation():
    response = Client().get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {"domains_add", "domains_verify", "users_change_role", "import_jobs_start", "audit_events_export", "me"} <= operations
    assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"


def test_the_docs_page_needs_no_inline_script_or_style_and_no_cdn():
    client = Client()
    page = client.get("/api/v1/docs")
    html = page.content.decode()
    assert page.status_code == 200 and "script-src 'self'" in page["Content-Security-Policy"]
    assert "<script>" not in html and "<style" not in html and "style=" not in html
    assert "//cdn" not in html and "https://" not in html
    script = client.get("/api/v1/docs?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
