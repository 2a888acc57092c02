"""Simulated months: the real dispatcher, check tasks, reminders and expiry over 90 days.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_months .venv/bin/python bench/simulate_months.py \
        [--domains 10000] [--days 90] [--dispatch-minutes 15] [--seed 1]

The one clock moves; nothing sleeps. Each simulated day, records randomly disappear and come
back, and the (real, loopback) DNS server randomly stops answering for some names; one 48-hour
resolver outage answers SERVFAIL for every name. Beat's schedule is replayed on the clock: the dispatcher every
dispatch interval (tasks run eagerly, so `domains.dispatch_due_checks` → `domains.check_batch`
run exactly as a worker runs them), reminders and expiry every hour.

At the end every invariant is checked and the counts are printed; exit status 1 if one fails.
Baseline (same process): the raw rate of the same DNS queries with dnspython and no database,
so the checks-per-second figure can be compared on a noisy machine.
"""

import argparse
import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class DNSProcess:
    """The loopback DNS server (tests/support) in a child process, so answering queries does not
    compete with the simulation for one interpreter lock. Record changes are sent in batches."""

    def __init__(self):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_dns, args=(child,), daemon=True)
        self._process.start()
        self.host, self.port = self._conn.recv()
        self._pending: list[tuple] = []

    def __getattr__(self, method):
        if method.startswith("set_") or method == "remove":
            return lambda *args: self._pending.append((method, args))
        raise AttributeError(method)

    def flush(self) -> None:
        if self._pending:
            self._conn.send(self._pending)
            self._pending = []
            self._conn.recv()

    def stop(self) -> None:
        self.flush()
        self._conn.send(None)
        self._process.join(timeout=10)


def _serve_dns(conn) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.support.dns_server import LoopbackDNSServer

    server = LoopbackDNSServer()
    conn.send((server.host, server.port))
    while (commands := conn.recv()) is not None:
        for method, args in commands:
            getattr(server, method)(*args)
        server.queries.clear()
        conn.send(True)
    server.stop()


def raw_dns_rate(server, names, concurrency: int) -> float:
    """The baseline: the same TXT queries issued directly with dnspython, no database."""
    from concurrent.futures import ThreadPoolExecutor

    import dns.resolver

    def ask(name):
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns_host]
        resolver.port = dns_port
        resolver.lifetime = resolver.timeout = 1.0
        try:
            resolver.resolve(f"_twilio.{name}", "TXT")
        except Exception:  # noqa: BLE001, S110
            pass

    dns_host, dns_port = server.host, server.port
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(ask, names))
    return len(names) / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=10000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--dispatch-minutes", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--members-every", type=int, default=5, help="one domain in N has managed users")
    parser.add_argument("--dns-timeout", type=float, default=0.2,
                        help="seconds before an unanswered query counts as a timeout (the wall time a 'hanging' name costs)")
    parser.add_argument("--check-deadline", type=float, default=0.5, help="the background check's deadline, seconds")
    parser.add_argument("--invariants-every", type=int, default=10,
                        help="every N simulated days, check the invariants that SQL answers at once")
    parser.add_argument("--profile", metavar="FILE", help="write cProfile statistics of the simulated days to FILE")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_months")
    if not database_url.startswith("postgres"):
        sys.exit("simulate_months needs PostgreSQL: set DATABASE_URL=postgres://...")
    ensure_database(database_url)

    dns = DNSProcess()
    dispatch = timedelta(minutes=args.dispatch_minutes)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": "memory://",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "EMAIL_URL": "memorymail://",
            "DNS_NAMESERVERS": "127.0.0.1",
            "DNS_PORT": str(dns.port),
            "DNS_TIMEOUT_SECONDS": str(args.dns_timeout),
            "DNS_AUTHORITATIVE_MODE": "0",
            "BACKGROUND_CHECK_DEADLINE_SECONDS": str(args.check_deadline),
            "DOMAIN_CHECK_CONCURRENCY": "64",
            "DOMAIN_DISPATCH_SECONDS": str(dispatch.total_seconds()),
            "DOMAIN_DISPATCH_MAX_PER_RUN": str(args.domains * 2),
            "DOMAIN_DISPATCH_BATCH_SIZE": "500",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        }
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.core import mail
    from django.db import connection

    from console import clock
    from console.models import Account, AuditEvent, Membership, Organization, User
    from domains import tasks
    from domains.models import Domain, DomainCheck, RemovedMember
    from domains.rules import GRACE_PERIOD, INCONCLUSIVE_TOLERANCE

    rnd = random.Random(args.seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock.set_now(start)

    # --- the population -------------------------------------------------------------------
    organizations = Organization.objects.bulk_create(
        [Organization(name=f"Sim Org {i}") for i in range(max(1, args.domains // 100))]
    )
    owners = User.objects.bulk_create(
        [User(email=f"owner@org{o.pk}.owners.test", email_domain=f"org{o.pk}.owners.test", password="!")
         for o in organizations]
    )
    Membership.objects.bulk_create(
        [Membership(user=u, organization=o, role=Membership.Role.OWNER) for u, o in zip(owners, organizations, strict=True)]
    )
    domains = Domain.objects.bulk_create(
        [
            Domain(
                organization=organizations[i % len(organizations)],
                name=f"d{i}.sim.test",
                unicode_name=f"d{i}.sim.test",
                status=Domain.Status.VERIFIED,
                verified_at=start,
                next_check_at=start + timedelta(seconds=rnd.uniform(0, 86400)),
            )
            for i in range(args.domains)
        ],
        batch_size=2000,
    )
    members = []
    for domain in domains[:: args.members_every]:
        for n in range(2):
            members.append((domain, User(email=f"u{n}@{domain.name}", email_domain=domain.name, password="!")))
    User.objects.bulk_create([u for _, u in members], batch_size=2000)
    Membership.objects.bulk_create(
        [Membership(user=u, organization_id=d.organization_id, via_domain=d.name) for d, u in members],
        batch_size=2000,
    )
    Account.objects.bulk_create(
        [Account(name=f"acct {u.email}", owner=u, organization_id=d.organization_id) for d, u in members],
        batch_size=2000,
    )
    users_before, accounts_before = User.objects.count(), Account.objects.count()
    account_owner_before = dict(Account.objects.values_list("pk", "owner_id"))

    # --- the world: records present, absent, or not answering ------------------------------
    present = {d.pk: True for d in domains}
    hanging: set[int] = set()
    absent_since: dict[int, datetime] = {}
    for d in domains:
        dns.set_txt(f"_twilio.{d.name}", f"twilio-domain-verification={d.token}")
    dns.flush()

    baseline = raw_dns_rate(dns, [d.name for d in domains[:5000]], 64)

    by_pk = {d.pk: d for d in domains}
    in_outage = False
    # 48 hours in which the resolver is broken and answers SERVFAIL for every name (inconclusive).
    outage = (start + timedelta(days=45), start + timedelta(days=47))
    history: list[tuple[datetime, int, str]] = []  # (when, domain, "absent"|"present")

    def publish(pk: int) -> None:
        """Answer again (a dropped name stays dropped until removed) with the record or without it."""
        name = f"_twilio.{by_pk[pk].name}"
        dns.remove(name)
        if present[pk]:
            dns.set_txt(name, f"twilio-domain-verification={by_pk[pk].token}")
        if in_outage:
            dns.set_rcode(name, "SERVFAIL")

    def change_world(now: datetime) -> None:
        for pk, d in by_pk.items():
            if pk in absent_since or not present[pk]:
                if rnd.random() < 0.04:  # comes back on about day 25 on average: some make it, some expire
                    present[pk] = True
                    absent_since.pop(pk, None)
                    if pk not in hanging:
                        publish(pk)
                    history.append((now, pk, "present"))
            elif rnd.random() < 0.002:
                present[pk] = False
                absent_since[pk] = now
                if pk not in hanging:
                    publish(pk)
                history.append((now, pk, "absent"))
            if pk in hanging and rnd.random() < 0.5:
                hanging.discard(pk)
                publish(pk)
            elif present[pk] and rnd.random() < 0.003:
                hanging.add(pk)
                dns.set_timeout(f"_twilio.{d.name}")

    def set_outage(on: bool) -> None:
        nonlocal in_outage
        in_outage = on
        for pk, d in by_pk.items():
            if on:
                dns.set_rcode(f"_twilio.{d.name}", "SERVFAIL")
            elif pk not in hanging:
                publish(pk)

    def quick_invariants(now: datetime) -> str:
        """What SQL answers at once, so a run stopped early still says what held so far."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM (SELECT domain_id, due_at FROM domains_domaincheck WHERE due_at IS NOT NULL "
                "GROUP BY domain_id, due_at HAVING COUNT(*) > 1) twice"
            )
            twice = cursor.fetchone()[0]
        overdue = Domain.objects.active().filter(next_check_at__lt=now - 2 * dispatch).count()
        users, accounts = User.objects.count(), Account.objects.count()
        moved = sum(1 for pk, owner in Account.objects.values_list("pk", "owner_id") if account_owner_before[pk] != owner)
        verdict = "hold" if not (twice or overdue or users != users_before or accounts != accounts_before or moved) else "BROKEN"
        return (f"checked twice for one due time {twice}, overdue by two dispatch intervals {overdue}, "
                f"users {users}/{users_before}, accounts {accounts}/{accounts_before}, accounts that changed owner "
                f"{moved}, removals so far {AuditEvent.objects.filter(action='user.removed').count()}: {verdict}")

    # --- replay beat's schedule on the clock ----------------------------------------------
    end = start + timedelta(days=args.days)
    now = start
    next_day, next_hour = start + timedelta(days=1), start + timedelta(hours=1)
    dispatch_runs = claimed_total = emails_sent = 0
    wall_started = time.perf_counter()
    check_seconds = 0.0
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    while now < end:
        clock.set_now(now)
        if now >= next_day:
            change_world(now)
            next_day += timedelta(days=1)
            emails_sent += len(getattr(mail, "outbox", []))
            getattr(mail, "outbox", []).clear()
        if not in_outage and outage[0] <= now < outage[1]:
            set_outage(True)
        elif in_outage and now >= outage[1]:
            set_outage(False)
        dns.flush()
        if now >= next_hour:
            tasks.send_reminders()
            tasks.expire_lapsed()
            next_hour += timedelta(hours=1)
        t0 = time.perf_counter()
        claimed_total += tasks.dispatch_due_checks()
        check_seconds += time.perf_counter() - t0
        dispatch_runs += 1
        now += dispatch
        if dispatch_runs % int(timedelta(days=1) / dispatch) == 0:
            day = (now - start).days
            statuses = Counter(Domain.objects.values_list("status", flat=True))
            print(f"day {day:3d}: {dict(statuses)}  checks so far {claimed_total}  "
                  f"wall {time.perf_counter() - wall_started:.0f}s", flush=True)
            if args.invariants_every and day % args.invariants_every == 0:
                print(f"day {day:3d} invariants so far: {quick_invariants(now)}", flush=True)
    clock.set_now(end)
    wall = time.perf_counter() - wall_started
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    emails_sent += len(getattr(mail, "outbox", []))

    # --- invariants -----------------------------------------------------------------------
    failures: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT domain_id, due_at FROM domains_domaincheck WHERE due_at IS NOT NULL "
            "GROUP BY domain_id, due_at HAVING COUNT(*) > 1) twice"
        )
        checked_twice = cursor.fetchone()[0]
    if checked_twice:
        failures.append(f"{checked_twice} (domain, due time) pairs checked more than once")

    scheduled = DomainCheck.objects.filter(trigger=DomainCheck.Trigger.SCHEDULE)
    late = [c for c in scheduled.values("checked_at", "due_at").iterator(chunk_size=5000)
            if c["checked_at"] - c["due_at"] > dispatch]
    if late:
        failures.append(f"{len(late)} checks ran more than one dispatch interval after they were due")
    overdue_now = Domain.objects.active().filter(next_check_at__lt=end - dispatch).count()
    if overdue_now:
        failures.append(f"{overdue_now} domains overdue by more than one dispatch interval at the end")

    failing_events = AuditEvent.objects.filter(action="domain.failing")
    bad_grace = 0
    for event in failing_events.iterator():
        deadline = event.detail.get("grace_deadline")
        if deadline is None or datetime.fromisoformat(deadline) - event.created_at != GRACE_PERIOD:
            bad_grace += 1
    if bad_grace:
        failures.append(f"{bad_grace} grace periods not exactly 30 days")

    # A grace period starts only after a definitive failure or 72 hours of inconclusive results.
    early_starts = 0
    for event in failing_events.iterator():
        domain_id = int(event.target_id)
        last_checks = list(
            DomainCheck.objects.filter(domain_id=domain_id, checked_at__lte=event.created_at)
            .order_by("-checked_at")
            .values_list("outcome", "checked_at")[:200]
        )
        if last_checks and last_checks[0][0] == DomainCheck.Outcome.INCONCLUSIVE:
            since = last_checks[0][1]
            for outcome, checked_at in last_checks:
                if outcome != DomainCheck.Outcome.INCONCLUSIVE:
                    break
                since = checked_at
            if event.created_at - since < INCONCLUSIVE_TOLERANCE:
                early_starts += 1
    if early_starts:
        failures.append(f"{early_starts} grace periods started by inconclusive results before 72 hours")

    # Domains expire only after 30 days of failure without one success, within one sweep of the
    # deadline; users are removed only with their domain's expiry.
    expired = Domain.objects.filter(status=Domain.Status.REMOVED)
    wrongly_removed = 0
    failing_at: dict[str, datetime] = {}
    for domain in expired:
        failing_event = failing_events.filter(target_id=str(domain.pk)).order_by("-created_at").first()
        if failing_event is None:
            wrongly_removed += 1
            continue
        failing_at[domain.name] = failing_event.created_at
        in_grace = domain.removed_at - failing_event.created_at
        if in_grace < GRACE_PERIOD or in_grace > GRACE_PERIOD + timedelta(hours=1):
            wrongly_removed += 1
        if DomainCheck.objects.filter(
            domain=domain, outcome=DomainCheck.Outcome.VERIFIED, checked_at__gte=failing_event.created_at
        ).exists():
            wrongly_removed += 1
    removed_events = AuditEvent.objects.filter(action="user.removed")
    removed_users = removed_events.count()
    email_domains = dict(User.objects.filter(
        pk__in=[int(e.target_id) for e in removed_events]).values_list("pk", "email_domain"))
    for event in removed_events:
        since = failing_at.get(email_domains.get(int(event.target_id), ""))
        if since is None or event.created_at - since < GRACE_PERIOD:
            wrongly_removed += 1
    if wrongly_removed:
        failures.append(f"{wrongly_removed} removals without 30 days of failure")

    if User.objects.count() != users_before:
        failures.append(f"users: {users_before} before, {User.objects.count()} after")
    if Account.objects.count() != accounts_before:
        failures.append(f"accounts: {accounts_before} before, {Account.objects.count()} after")
    if dict(Account.objects.values_list("pk", "owner_id")) != account_owner_before:
        failures.append("an account changed owner")

    statuses = Counter(Domain.objects.values_list("status", flat=True))
    outcomes = Counter(DomainCheck.objects.values_list("outcome", flat=True))
    total_checks = sum(outcomes.values())
    print()
    print(f"simulated {args.days} days, {args.domains} domains, dispatcher every {args.dispatch_minutes:g} min "
          f"({dispatch_runs} runs) in {wall:.0f} s of wall time")
    print(f"checks: {total_checks} ({dict(outcomes)})")
    print(f"record disappearances: {sum(1 for _, _, e in history if e == 'absent')}, "
          f"returns: {sum(1 for _, _, e in history if e == 'present')}")
    print(f"entered grace: {failing_events.count()}, re-validated: "
          f"{AuditEvent.objects.filter(action='domain.revalidated').count()}, "
          f"reminders: {AuditEvent.objects.filter(action='domain.reminder_sent').count()}, "
          f"expired: {expired.count()}, users removed: {removed_users}, "
          f"removal records kept: {RemovedMember.objects.count()}")
    print(f"domains by status at the end: {dict(statuses)}; e-mails sent: {emails_sent}")
    print(f"users {users_before} → {User.objects.count()}, accounts {accounts_before} → {Account.objects.count()}")
    rate = total_checks / check_seconds if check_seconds else 0.0
    print(f"check throughput inside dispatch runs: {rate:.0f} checks/s; raw dnspython baseline: {baseline:.0f} "
          f"queries/s; ratio {rate / baseline:.2f}")
    print(f"invariant checks: domain checked twice for one due time: {checked_twice}; late checks: {len(late)}; "
          f"grace periods not 30 days: {bad_grace}; early grace starts: {early_starts}; "
          f"removals without 30 days of failure: {wrongly_removed}")
    dns.stop()
    if failures:
        print("INVARIANTS BROKEN:")
        for failure in failures:
            print(" -", failure)
        sys.exit(1)
    print("all invariants hold")


if __name__ == "__main__":
    main()
