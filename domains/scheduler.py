"""Which domains are due for a check, claiming them, and running a claimed batch.

A claim sets a lease (Domain.lease_expires_at) and remembers the due time it is for
(Domain.claimed_due_at). Overlapping dispatchers never claim the same row twice:
PostgreSQL skips rows another transaction holds (FOR UPDATE SKIP LOCKED) and the update is
conditional on the lease being free; on SQLite (where select_for_update is a no-op) the
IMMEDIATE transaction serialises writers, so the same conditional update is just as safe.
A claim whose worker died is claimed again once its lease has run out, for the SAME due
time, so DomainCheck's unique (domain, due_at) still allows one check per due time.
"""

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.dateparse import parse_datetime

from console import clock
from console.models import TaskHeartbeat
from domains import lifecycle
from domains.checking import run_check
from domains.models import Domain, DomainCheck

CHECKED_STATUSES = (Domain.Status.PENDING, Domain.Status.VERIFIED, Domain.Status.REVALIDATION_REQUIRED)


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


def due_q(now: datetime) -> Q:
    """Due now and not held by a live claim (the queryset predicate of "claimable")."""
    return (
        Q(status__in=CHECKED_STATUSES, next_check_at__lte=now)
        & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
    )


def domains_due_for_check(now: datetime | None = None):
    return Domain.objects.filter(due_q(now or clock.now()))


def claim_due_domains(*, limit: int, now: datetime | None = None, lease: timedelta | None = None) -> list[Claim]:
    """Claim up to `limit` due domains, oldest due first; two queries whatever `limit` is."""
    now = now or clock.now()
    lease = lease or timedelta(seconds=settings.DOMAIN_CHECK_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            Domain.objects.select_for_update(skip_locked=True)
            .filter(due_q(now))
            .order_by("next_check_at", "pk")
            .values_list("pk", "next_check_at")[:limit]
        )
        if not rows:
            return []
        # Conditional: only rows still due and unleased (harmless if someone got there first).
        Domain.objects.filter(due_q(now), pk__in=[pk for pk, _ in rows]).update(
            lease_expires_at=now + lease, claimed_due_at=F("next_check_at")
        )
    return [Claim(pk, due_at) for pk, due_at in rows]


def record_heartbeat(name: str, now: datetime | None = None) -> None:
    now = now or clock.now()
    if not TaskHeartbeat.objects.filter(name=name).update(last_run_at=now, runs=F("runs") + 1):
        TaskHeartbeat.objects.get_or_create(name=name, defaults={"last_run_at": now, "runs": 1})


def dispatch_due(*, enqueue, batch_size: int | None = None, max_domains: int | None = None) -> int:
    """Claim due domains batch by batch and hand each batch to `enqueue(claims)`.

    Returns how many domains were claimed. Records the "dispatcher" heartbeat.
    """
    batch_size = batch_size or settings.DOMAIN_DISPATCH_BATCH_SIZE
    max_domains = max_domains or settings.DOMAIN_DISPATCH_MAX_PER_RUN
    now = clock.now()
    record_heartbeat("dispatcher", now)
    claimed = 0
    while claimed < max_domains:
        claims = claim_due_domains(limit=min(batch_size, max_domains - claimed), now=now)
        if not claims:
            break
        enqueue(claims)
        claimed += len(claims)
    return claimed


def _old_tokens(domains: list[Domain]) -> dict[tuple[int, str], tuple[str, ...]]:
    """Tokens of removed earlier rows of the same (organization, name): they must not match,
    but finding one is worth a diagnostic. One query per batch."""
    names = {d.name for d in domains}
    found: dict[tuple[int, str], list[str]] = {}
    if not names:
        return {}
    for org_id, name, token in Domain.objects.filter(name__in=names, status=Domain.Status.REMOVED).values_list(
        "organization_id", "name", "token"
    ):
        found.setdefault((org_id, name), []).append(token)
    return {key: tuple(tokens) for key, tokens in found.items()}


def run_claims(
    claims: list[Claim], *, concurrency: int | None = None, write_chunk: int | None = None
) -> lifecycle.BulkOutcome:
    """Check a claimed batch concurrently (network I/O in a thread pool, no locks held) and
    write the results in bulk (lifecycle.apply_check_results_bulk), DOMAIN_CHECK_WRITE_CHUNK
    at a time: a few statements per chunk, whatever the batch size."""
    if not claims:
        return lifecycle.BulkOutcome()
    due = {c.domain_id: c.due_at for c in claims}
    domains = list(
        Domain.objects.filter(pk__in=due.keys(), status__in=CHECKED_STATUSES).only(
            "pk", "organization_id", "name", "token", "method", "next_check_at"
        )
    )
    # Stale claims (the schedule moved on, e.g. an admin clicked Verify) are not checked at all.
    domains = [d for d in domains if d.next_check_at == due[d.pk]]
    old = _old_tokens(domains)
    deadline = settings.BACKGROUND_CHECK_DEADLINE_SECONDS

    def check(domain: Domain):
        return run_check(
            domain.name,
            domain.token,
            domain.method,
            deadline_seconds=deadline,
            old_tokens=old.get((domain.organization_id, domain.name), ()),
        )

    workers = max(1, min(concurrency or settings.DOMAIN_CHECK_CONCURRENCY, len(domains) or 1))
    chunk = max(1, write_chunk or settings.DOMAIN_CHECK_WRITE_CHUNK)
    applied = skipped = 0
    events: list = []

    def write(items):
        nonlocal applied, skipped
        outcome = lifecycle.apply_check_results_bulk(items, trigger=DomainCheck.Trigger.SCHEDULE)
        applied, skipped = applied + outcome.applied, skipped + outcome.skipped
        events.extend(outcome.events)

    # Results are written in chunks as they arrive, so this thread's database writes overlap
    # the pool's network I/O instead of waiting for the slowest check of the batch.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="domain-check") as pool:
        futures = {pool.submit(check, domain): domain for domain in domains}
        ready = []
        for future in as_completed(futures):
            domain = futures[future]
            ready.append((domain.pk, due[domain.pk], future.result()))
            if len(ready) >= chunk:
                write(ready)
                ready = []
        if ready:
            write(ready)
    return lifecycle.BulkOutcome(applied=applied, skipped=skipped + len(claims) - len(domains), events=tuple(events))


def run_one(claim: Claim, *, trigger: str = DomainCheck.Trigger.SCHEDULE) -> DomainCheck | None:
    """Check one claimed domain (the single path). None if stale, removed or already checked."""
    domain = Domain.objects.filter(pk=claim.domain_id).only("pk", "organization_id", "name", "token", "method", "next_check_at", "status").first()
    if domain is None or domain.status not in CHECKED_STATUSES or domain.next_check_at != claim.due_at:
        return None
    result = run_check(
        domain.name,
        domain.token,
        domain.method,
        deadline_seconds=settings.BACKGROUND_CHECK_DEADLINE_SECONDS,
        old_tokens=_old_tokens([domain]).get((domain.organization_id, domain.name), ()),
    )
    return lifecycle.apply_check_result(domain_id=domain.pk, result=result, trigger=trigger, due_at=claim.due_at)
