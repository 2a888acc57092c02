"""Which domains are due for a check, claiming them, and running a claimed batch.

A claim sets a lease (Domain.lease_expires_at) and remembers the due time it is for
(Domain.claimed_due_at). Overlapping dispatchers never claim the same row twice:
PostgreSQL skips rows another transaction holds (FOR UPDATE SKIP LOCKED) and the update is
conditional on the lease being free; on SQLite (where select_for_update is a no-op) the
IMMEDIATE transaction serialises writers, so the same conditional update is just as safe.
A claim whose worker died is claimed again once its lease has run out, for the SAME due
time, so DomainCheck's unique (domain, due_at) still allows one check per due time.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.dateparse import parse_datetime

from console import clock
from console.models import TaskHeartbeat
from domains import lifecycle
from domains.checking import check_domain, check_domains
from domains.models import Domain, DomainCheck


@dataclass(frozen=True)
class Claim:
    domain_id: int
    due_at: datetime

    def as_task_args(self) -> list:
        return [self.domain_id, self.due_at.isoformat()]

    @classmethod
    def from_task_args(cls, args) -> "Claim":
        domain_id, due_at = args
        return cls(int(domain_id), parse_datetime(due_at) if isinstance(due_at, str) else due_at)


def claim_due_domains(*, limit: int, now: datetime | None = None, lease: timedelta | None = None) -> list[Claim]:
    """Claim up to `limit` due domains, oldest due first; two queries whatever `limit` is."""
    now = now or clock.now()
    lease = lease or timedelta(seconds=settings.DOMAIN_CHECK_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            Domain.objects.select_for_update(skip_locked=True)
            .due(now)
            .order_by("next_check_at", "pk")
            .values_list("pk", "next_check_at")[:limit]
        )
        if not rows:
            return []
        # Conditional: only rows still due and unleased (harmless if someone got there first).
        Domain.objects.due(now).filter(pk__any_of=[pk for pk, _ in rows]).write_state(
            lease_expires_at=now + lease, claimed_due_at=F("next_check_at")
        )
    return [Claim(pk, due_at) for pk, due_at in rows]


def dispatch_due(*, enqueue, batch_size: int | None = None, max_domains: int | None = None) -> int:
    """Claim due domains batch by batch and hand each batch to `enqueue(claims)`.

    Returns how many domains were claimed. Records the "dispatcher" heartbeat.
    """
    batch_size = batch_size or settings.DOMAIN_DISPATCH_BATCH_SIZE
    max_domains = max_domains or settings.DOMAIN_DISPATCH_MAX_PER_RUN
    now = clock.now()
    TaskHeartbeat.objects.beat("dispatcher", now)
    claimed = 0
    while claimed < max_domains:
        claims = claim_due_domains(limit=min(batch_size, max_domains - claimed), now=now)
        if not claims:
            break
        enqueue(claims)
        claimed += len(claims)
    return claimed


def _still_claimed(claims: list[Claim]) -> list[Domain]:
    """The claimed domains whose schedule has not moved on (e.g. an admin clicked Verify)."""
    due = {c.domain_id: c.due_at for c in claims}
    domains = Domain.objects.filter(pk__any_of=due.keys(), status__in=Domain.CHECKED_STATUSES).only(
        "pk", "organization_id", "name", "token", "method", "next_check_at", "status"
    )
    return [d for d in domains if d.next_check_at == due[d.pk]]


def run_claims(
    claims: list[Claim], *, concurrency: int | None = None, write_chunk: int | None = None
) -> lifecycle.BulkOutcome:
    """Check a claimed batch concurrently and write the results in bulk
    (lifecycle.apply_check_results_bulk), DOMAIN_CHECK_WRITE_CHUNK at a time as they arrive,
    so this thread's database writes overlap the pool's network I/O."""
    if not claims:
        return lifecycle.BulkOutcome()
    domains = _still_claimed(claims)
    chunk = max(1, write_chunk or settings.DOMAIN_CHECK_WRITE_CHUNK)
    applied = skipped = 0
    events: list = []

    def write(items):
        nonlocal applied, skipped
        outcome = lifecycle.apply_check_results_bulk(items, trigger=DomainCheck.Trigger.SCHEDULE)
        applied, skipped = applied + outcome.applied, skipped + outcome.skipped
        events.extend(outcome.events)

    ready = []
    results = check_domains(
        domains, deadline_seconds=settings.BACKGROUND_CHECK_DEADLINE_SECONDS, concurrency=concurrency
    )
    for domain, result in results:
        ready.append((domain.pk, domain.next_check_at, result))
        if len(ready) >= chunk:
            write(ready)
            ready = []
    if ready:
        write(ready)
    return lifecycle.BulkOutcome(applied=applied, skipped=skipped + len(claims) - len(domains), events=tuple(events))


def run_one(claim: Claim, *, trigger: str = DomainCheck.Trigger.SCHEDULE) -> lifecycle.Applied | None:
    """Check one claimed domain (the single path). None if stale, removed or already checked."""
    domains = _still_claimed([claim])
    if not domains:
        return None
    result = check_domain(domains[0], deadline_seconds=settings.BACKGROUND_CHECK_DEADLINE_SECONDS)
    return lifecycle.apply_check_result(domain_id=claim.domain_id, result=result, trigger=trigger, due_at=claim.due_at)
