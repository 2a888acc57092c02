"""/metrics at a cost that does not grow with the history, HTTP and task metrics, /healthz's cache."""

import re
from datetime import timedelta

import pytest
from celery import shared_task

from console.models import User
from domains import lifecycle
from domains.models import DomainCheck
from domains.tests.factories import DomainCheckFactory, DomainFactory, check_result

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_user("ops@example.org", "pw-123456789", is_staff=True))
    return client


def _sample(text: str, name: str, **labels) -> float:
    """The value of one sample in the Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_cost_the_same_queries_with_and_without_history(staff_client, clock, django_assert_num_queries):
    domain = DomainFactory(next_check_at=clock.now() - timedelta(minutes=1))
    staff_client.get("/metrics")  # session, user: loaded once
    with django_assert_num_queries(7) as empty:
        staff_client.get("/metrics")
    DomainCheck.objects.bulk_create(
        [DomainCheck(domain=domain, method="dns", outcome="verified", detail="ok", trigger="schedule")] * 500
    )
    with django_assert_num_queries(len(empty.captured_queries)) as full:
        text = staff_client.get("/metrics").content.decode()
    assert _sample(text, "admin_center_domain_checks_total", outcome="verified") == 500
    # No statement reads the check history itself.
    assert not any("domains_domaincheck" in q["sql"] and "pg_class" not in q["sql"] for q in full.captured_queries)


def test_check_totals_follow_the_lifecycle_and_survive_retention(staff_client, clock, settings):
    domain = DomainFactory(next_check_at=clock.now())
    lifecycle.apply_check_results_bulk([(domain.pk, domain.next_check_at, check_result(DomainCheck.Outcome.VERIFIED))])
    DomainCheckFactory(domain=domain, outcome=DomainCheck.Outcome.INCONCLUSIVE)
    text = staff_client.get("/metrics").content.decode()
    assert _sample(text, "admin_center_domain_checks_total", outcome="verified") == 1
    assert _sample(text, "admin_center_domain_checks_total", outcome="inconclusive") == 1

    DomainCheck.objects.all().delete()  # what retention does to old rows
    text = staff_client.get("/metrics").content.decode()
    assert _sample(text, "admin_center_domain_checks_total", outcome="verified") == 1  # a counter never goes down


def test_import_rows_come_from_the_jobs_counts(staff_client):
    from imports.tests.factories import ImportJobFactory

    ImportJobFactory(status="completed", rows_total=10, rows_imported=7, rows_not_imported=3)
    ImportJobFactory(status="report_ready", rows_total=4)
    text = staff_client.get("/metrics").content.decode()
    assert _sample(text, "admin_center_import_rows", result="imported") == 7
    assert _sample(text, "admin_center_import_rows", result="not_imported") == 3
    assert _sample(text, "admin_center_import_rows", result="pending") == 4


def test_http_latency_and_responses_by_status(staff_client):
    before = staff_client.get("/metrics").content.decode()
    staff_client.get("/healthz")
    staff_client.get("/no-such-page/")  # 404
    text = staff_client.get("/metrics").content.decode()
    for status in ("200", "404"):
        name = "django_http_responses_total_by_status_total"
        assert _sample(text, name, status=status) >= _sample(before, name, status=status) + 1
    assert _sample(text, "django_http_requests_latency_seconds_by_view_method_count", view="health", method="GET") >= 1


@shared_task(name="tests.metrics.succeeds")
def _succeeds():
    return True


@shared_task(name="tests.metrics.fails")
def _fails():
    raise ValueError("boom")


@shared_task(name="tests.metrics.retries_once", bind=True, max_retries=1, default_retry_delay=0)
def _retries_once(self):
    if self.request.retries == 0:
        raise self.retry()
    return True


def test_celery_task_outcomes_by_task(staff_client):
    from config.celery import app

    def outcome(text, task, what):
        return _sample(text, "admin_center_celery_tasks_total", task=task, outcome=what)

    before = staff_client.get("/metrics").content.decode()
    app.conf.task_always_eager = True
    try:
        _succeeds.delay()
        _fails.delay()
        _retries_once.delay()
    finally:
        app.conf.task_always_eager = False
    text = staff_client.get("/metrics").content.decode()
    assert outcome(text, "tests.metrics.succeeds", "succeeded") == outcome(before, "tests.metrics.succeeds", "succeeded") + 1
    assert outcome(text, "tests.metrics.fails", "failed") == outcome(before, "tests.metrics.fails", "failed") + 1
    assert outcome(text, "tests.metrics.retries_once", "retried") == outcome(before, "tests.metrics.retries_once", "retried") + 1
    assert outcome(text, "tests.metrics.retries_once", "succeeded") == outcome(before, "tests.metrics.retries_once", "succeeded") + 1


def test_health_reports_a_broken_cache(client, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "ok" and body["cache"] != "ok"
