"""/api/v1/audit-events: filters, one event, and the streamed CSV / NDJSON export."""

import csv
import io
import json
from datetime import timedelta

import pytest

from api.tests.conftest import TokenClient
from console import audit
from console.models import AuditEvent
from console.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(clock, org, org_owner):
    audit.record("domain.added", organization=org, actor=org_owner, detail={"name": "=cmd|' /C calc'!A0"})
    clock.advance(timedelta(days=2))
    audit.record("user.added", organization=org, actor=org_owner)
    audit.record("domain.verified", organization=org, actor_kind=AuditEvent.ActorKind.SCHEDULE)
    audit.record("domain.added", organization=OrganizationFactory(), actor_kind=AuditEvent.ActorKind.SYSTEM)


def actions(response):
    return [event["action"] for event in response.json()["results"]]


def test_list_filters(api, events, clock):
    assert actions(api.get("/api/v1/audit-events?action=domain.")) == ["domain.verified", "domain.added"]
    assert actions(api.get("/api/v1/audit-events?actor_kind=schedule")) == ["domain.verified"]
    today = clock.now().date().isoformat()
    assert actions(api.get(f"/api/v1/audit-events?since={today}&action=domain")) == ["domain.verified"]
    assert api.get("/api/v1/audit-events?since=yesterday").status_code == 400
    assert api.get("/api/v1/audit-events?since=2026-02-01&until=2026-01-01").json()["results"] == []


def test_one_event_and_another_organizations_event(api, events):
    own = AuditEvent.objects.filter(action="user.added").get()
    assert api.get(f"/api/v1/audit-events/{own.pk}").json()["action"] == "user.added"
    foreign = AuditEvent.objects.get(organization__isnull=False, actor_kind=AuditEvent.ActorKind.SYSTEM)
    assert api.get(f"/api/v1/audit-events/{foreign.pk}").status_code == 404


def test_export_ndjson_streams_one_event_per_line(api, events, org):
    response = api.get("/api/v1/audit-events/export")
    assert response.streaming and response["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    # Every event of this organization, newest first, the token's own creation included.
    assert [line["action"] for line in lines][:3] == ["domain.verified", "user.added", "domain.added"]
    assert len(lines) == AuditEvent.objects.filter(organization=org).count()
    assert lines[0]["actor_kind"] == "schedule" and lines[1]["actor_email"] == "owner@acme-corp.example"


def test_export_csv_is_spreadsheet_safe(api, events):
    response = api.get("/api/v1/audit-events/export?format=csv&action=domain.added")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "created_at", "action"] and len(rows) == 2
    assert json.loads(rows[1][8])["name"].startswith("=")  # the JSON cell starts with "{": no formula
    assert api.get("/api/v1/audit-events/export?format=xlsx").status_code == 400


def test_export_memory_stays_flat_it_reads_through_a_cursor(api, events, django_assert_max_num_queries, settings):
    settings.API_EXPORT_CHUNK_SIZE = 1
    with django_assert_max_num_queries(12):
        list(api.get("/api/v1/audit-events/export").streaming_content)


def test_writes_made_with_a_token_name_it(make_token, org):
    _token, secret = make_token(name="Terraform")
    TokenClient(secret).post("/api/v1/domains", {"domain": "acme-corp.example"}, format="json")
    event = TokenClient(secret).get("/api/v1/audit-events?actor_kind=token").json()["results"][0]
    assert event["action"] == "domain.added" and event["detail"]["token"]["name"] == "Terraform"
