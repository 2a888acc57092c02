"""Retention of the check history: DomainCheck rows older than DOMAIN_CHECK_RETENTION_DAYS are
deleted, always keeping each domain's latest DOMAIN_CHECK_KEEP_LATEST checks (a domain checked
rarely keeps its story). Batched by domain, one short transaction per batch, so the table is
never locked for long and a sweep stopped half-way simply goes on at the next run. The totals
on /metrics (CheckTally) are not affected: they count checks ever made.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from console import clock
from domains.models import Domain, DomainCheck


@dataclass
class PurgeOutcome:
    deleted: int = 0
    batches: int = 0
    finished: bool = True  # False: stopped by the time budget; go on after last_domain_id
    last_domain_id: int = 0


def purgeable_check_ids(domain_ids: list[int], *, cutoff: datetime, keep_latest: int) -> list[int]:
    """Checks of these domains older than `cutoff` and not among each one's `keep_latest` latest.

    Raw SQL because the age test must apply after ranking (the ORM would rank only the old rows);
    the (domain, -checked_at) index serves the ranking."""
    if not domain_ids:
        return []
    table = connection.ops.quote_name(DomainCheck._meta.db_table)
    in_list = ", ".join(["%s"] * len(domain_ids))
    sql = (
        "SELECT id FROM (SELECT id, checked_at, ROW_NUMBER() OVER "  # noqa: S608  (identifiers from model metadata)
        f"(PARTITION BY domain_id ORDER BY checked_at DESC, id DESC) AS position FROM {table} "
        f"WHERE domain_id IN ({in_list})) ranked WHERE position > %s AND checked_at < %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*domain_ids, keep_latest, cutoff])
        return [row[0] for row in cursor.fetchall()]


def purge_old_checks(
    *,
    now: datetime | None = None,
    retention_days: int | None = None,
    keep_latest: int | None = None,
    domains_per_batch: int | None = None,
    time_budget_seconds: float | None = None,
    after_domain_id: int = 0,
) -> PurgeOutcome:
    """Delete the checks past retention, domain batch by domain batch (each in its own transaction)."""
    now = now or clock.now()
    cutoff = now - timedelta(days=settings.DOMAIN_CHECK_RETENTION_DAYS if retention_days is None else retention_days)
    keep_latest = settings.DOMAIN_CHECK_KEEP_LATEST if keep_latest is None else keep_latest
    batch = domains_per_batch or settings.RETENTION_BATCH_DOMAINS
    budget = settings.RETENTION_TIME_BUDGET_SECONDS if time_budget_seconds is None else time_budget_seconds
    started = time.monotonic()
    outcome = PurgeOutcome(last_domain_id=after_domain_id)
    after = after_domain_id
    while True:
        domain_ids = list(Domain.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch])
        if not domain_ids:
            return outcome
        after = outcome.last_domain_id = domain_ids[-1]
        with transaction.atomic():
            ids = purgeable_check_ids(domain_ids, cutoff=cutoff, keep_latest=keep_latest)
            if ids:
                outcome.deleted += DomainCheck.objects.filter(pk__in=ids).delete()[0]
        outcome.batches += 1
        if time.monotonic() - started > budget:
            outcome.finished = False
            return outcome
