"""/api/v1/import-jobs: report, rows, CSV, notify, start, check for new users — imports.services only."""

import pytest

from api.tests.conftest import TokenClient
from console.models import AuditEvent, Membership
from imports import services
from imports.models import ImportJob
from imports.tests.conftest import make_world, population

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return make_world()


@pytest.fixture
def client(world):
    from api import tokens

    _token, secret = tokens.create_token(
        organization=world.organization, name="CI", scopes=["imports:read", "imports:write"], created_by=world.admin
    )
    return TokenClient(secret)


def ready_job(world):
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    services.build_report(job.pk)
    job.refresh_from_db()
    return job


def test_create_a_report_queues_it(client, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/api/v1/import-jobs", {"domain": world.domain.pk}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "report_queued"
    assert response["Location"] == f"/api/v1/import-jobs/{response.json()['id']}"
    assert len(callbacks) == 1  # the report task is queued on commit
    assert AuditEvent.objects.get(action="imports.report_requested").actor_kind == AuditEvent.ActorKind.TOKEN


def test_a_report_needs_the_feature_and_a_verified_domain_of_this_organization(client, world):
    world.organization.features = []
    world.organization.save()
    refused = client.post("/api/v1/import-jobs", {"domain": world.domain.pk}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "feature_missing"
    other = client.post("/api/v1/import-jobs", {"domain": world.other_domain.pk}, format="json")
    assert other.status_code == 422 and other.json()["code"] == "invalid_domain"
    assert not ImportJob.objects.exists()


def test_status_counts_rows_and_csv(client, world):
    population(world)
    job = ready_job(world)
    body = client.get(f"/api/v1/import-jobs/{job.pk}").json()
    assert body["status"] == "report_ready" and body["counts"]["total"] == 5 and body["counts"]["eligible"] == 2
    eligible = client.get(f"/api/v1/import-jobs/{job.pk}/rows?filter=eligible").json()["results"]
    assert sorted(row["email"] for row in eligible) == ["alice@example.com", "bob@example.com"]
    not_eligible = client.get(f"/api/v1/import-jobs/{job.pk}/rows?filter=not_eligible").json()["results"]
    assert {row["reason"] for row in not_eligible} >= {"email_not_verified", "managed_elsewhere"}
    assert all(row["reason_display"] for row in not_eligible)
    csv = client.get(f"/api/v1/import-jobs/{job.pk}/report.csv")
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert csv["Content-Type"].startswith("text/csv") and text.count("\n") == 6 and "alice@example.com" in text
    listed = client.get(f"/api/v1/import-jobs?domain={world.domain.pk}&status=report_ready").json()["results"]
    assert [j["id"] for j in listed] == [job.pk]


def test_notify_start_selected_rows_and_check_for_new_users(client, world, django_capture_on_commit_callbacks):
    population(world)
    job = ready_job(world)
    notified = client.post(f"/api/v1/import-jobs/{job.pk}/notify")
    assert notified.status_code == 202 and notified.json()["notified"] == 2
    alice = job.rows.get(email="alice@example.com")
    started = client.post(f"/api/v1/import-jobs/{job.pk}/start", {"row_ids": [alice.pk]}, format="json")
    assert started.status_code == 202 and started.json()["status"] == "import_queued"
    assert started.json()["selected_only"] is True and started.json()["counts"]["selected"] == 1
    services.run_import(job.pk)
    done = client.get(f"/api/v1/import-jobs/{job.pk}").json()
    assert done["status"] == "completed" and done["counts"]["imported"] == 1
    assert Membership.objects.filter(user__email="alice@example.com", organization=world.organization).exists()
    assert not Membership.objects.filter(user__email="bob@example.com").exists()
    again = client.post(f"/api/v1/import-jobs/{job.pk}/start", {}, format="json")
    assert again.status_code == 409
    new = client.post(f"/api/v1/import-jobs/{job.pk}/check-new-users")
    assert new.status_code == 201 and new.json()["kind"] == "check_new" and new.json()["parent_id"] == job.pk


def test_rows_and_csv_wait_for_the_report(client, world):
    job = services.create_report_job(domain=world.domain, actor=world.admin, enqueue=False)
    assert client.get(f"/api/v1/import-jobs/{job.pk}/rows").status_code == 409
    assert client.get(f"/api/v1/import-jobs/{job.pk}/report.csv").status_code == 409


def test_another_organizations_jobs_are_404(client, world):
    other = services.create_report_job(domain=world.other_domain, actor=world.other_admin, enqueue=False)
    for method, path in [
        ("get", ""),
        ("get", "/rows"),
        ("get", "/report.csv"),
        ("post", "/notify"),
        ("post", "/start"),
        ("post", "/check-new-users"),
    ]:
        url = f"/api/v1/import-jobs/{other.pk}{path}"
        response = client.get(url) if method == "get" else client.post(url, {}, format="json")
        assert response.status_code == 404, (method, path)
    other.refresh_from_db()
    assert other.status == ImportJob.Status.REPORT_QUEUED
