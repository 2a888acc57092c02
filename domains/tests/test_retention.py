"""Retention of the check history: old checks go, each domain's latest 50 and the totals stay."""

from datetime import timedelta

import pytest

from domains import retention, tasks
from domains.models import CheckTally, DomainCheck
from domains.tests.factories import DomainCheckFactory, DomainFactory

pytestmark = pytest.mark.django_db


def _history(domain, clock, *, days: int, outcome=DomainCheck.Outcome.VERIFIED):
    """One check a day for `days` days up to now (the clock ends where it started)."""
    start = clock.now()
    clock.set_now(start - timedelta(days=days))
    for _ in range(days):
        clock.advance(timedelta(days=1))
        DomainCheckFactory(domain=domain, outcome=outcome)
    assert clock.now() == start


def _totals() -> dict:
    totals: dict = {}
    for tally in CheckTally.objects.all():
        totals[tally.outcome] = totals.get(tally.outcome, 0) + tally.total
    return totals


def test_checks_older_than_retention_go_but_each_domain_keeps_its_latest(clock, settings):
    settings.DOMAIN_CHECK_RETENTION_DAYS = 400
    settings.DOMAIN_CHECK_KEEP_LATEST = 50
    busy, quiet = DomainFactory(), DomainFactory()
    _history(busy, clock, days=450)
    # A domain checked rarely: all its 30 checks are older than retention, and all stay.
    clock.set_now(clock.now() - timedelta(days=500))
    quiet_checks = [DomainCheckFactory(domain=quiet) for _ in range(30)]
    clock.set_now(clock.now() + timedelta(days=500))
    before = _totals()
    cutoff = clock.now() - timedelta(days=400)
    old = DomainCheck.objects.filter(domain=busy, checked_at__lt=cutoff).count()
    assert old == 49  # checked 449 … 401 days ago

    outcome = retention.purge_old_checks(domains_per_batch=1)

    assert outcome.deleted == old and outcome.finished and outcome.batches == 2
    kept = DomainCheck.objects.filter(domain=busy)
    assert kept.count() == 450 - old and not kept.filter(checked_at__lt=cutoff).exists()
    assert DomainCheck.objects.filter(domain=quiet).count() == len(quiet_checks)
    assert _totals() == before  # the totals count checks ever made, not rows kept


def test_the_latest_checks_are_kept_even_when_all_are_old(clock, settings):
    settings.DOMAIN_CHECK_RETENTION_DAYS = 10
    settings.DOMAIN_CHECK_KEEP_LATEST = 50
    domain = DomainFactory()
    _history(domain, clock, days=120)
    newest = set(DomainCheck.objects.filter(domain=domain).order_by("-checked_at").values_list("pk", flat=True)[:50])

    retention.purge_old_checks()

    # 120 checks, 110 of them past 10 days; only the 50 latest may stay beyond the 10 recent ones.
    assert set(DomainCheck.objects.filter(domain=domain).values_list("pk", flat=True)) == newest
    assert retention.purge_old_checks().deleted == 0  # a second run finds nothing


def test_a_sweep_past_its_time_budget_goes_on_where_it_stopped(clock, settings):
    settings.DOMAIN_CHECK_RETENTION_DAYS = 1
    settings.DOMAIN_CHECK_KEEP_LATEST = 1
    settings.RETENTION_BATCH_DOMAINS = 1
    settings.RETENTION_TIME_BUDGET_SECONDS = 0  # every run stops after one batch
    domains = [DomainFactory() for _ in range(3)]
    for domain in domains:
        _history(domain, clock, days=5)

    from celery import current_app as app

    app.conf.task_always_eager = True  # each run's follow-up runs at once, until every domain is done
    try:
        tasks.purge_old_checks.delay()
    finally:
        app.conf.task_always_eager = False

    for domain in domains:  # checked 4 … 0 days ago: those older than one day went
        assert DomainCheck.objects.filter(domain=domain).count() == 2


def test_the_purge_is_on_beats_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["domains.purge_old_checks"]["task"] == "domains.purge_old_checks"
    assert settings.CELERY_BEAT_SCHEDULE["imports.purge_finished_rows"]["task"] == "imports.purge_finished_rows"


def test_new_checks_are_tallied_by_every_insert_path(clock):
    domain = DomainFactory()
    before = _totals()
    DomainCheckFactory(domain=domain, outcome=DomainCheck.Outcome.NOT_FOUND)  # one row
    DomainCheck.objects.bulk_create(  # one statement, several rows
        [DomainCheck(domain=domain, method="dns", outcome="inconclusive", detail="t", trigger="schedule")] * 3
    )
    after = _totals()
    assert after.get("not_found", 0) - before.get("not_found", 0) == 1
    assert after.get("inconclusive", 0) - before.get("inconclusive", 0) == 3
