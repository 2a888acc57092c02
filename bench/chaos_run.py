"""Chaos run: a real worker and beat through a re-check sweep, an import and a burst of e-mails
while the worker, Redis, PostgreSQL and the SMTP server fail at random moments; nothing is lost.

    .venv/bin/python bench/chaos_run.py [--domains 2000] [--users 10000] [--emails 500]
        [--phase-seconds 300] [--smtp-outage-seconds 120] [--seed 1] [--json out.json]

Starts its OWN PostgreSQL (initdb + pg_ctl on a spare port, in a temporary directory), its own
redis-server on a spare port, an SMTP server (aiosmtpd) and a DNS server on loopback; never
the machine's shared instances. Then `celery worker` and `celery beat` as subprocesses. This
process plays the web: it queues the import, and adds users by e-mail (an invitation each)
in small bursts during the run. The due checks, the import's chunks and the e-mail burst are
spread over the chaos phase, during which, at random moments (seeded):

- the worker's whole process group is SIGKILLed and started again,
- redis-server is SIGKILLed and started again (append-only file, as in production),
- PostgreSQL is stopped with `pg_ctl -m immediate` (a crash: recovery on start) and started,
- the SMTP server stops (connections refused) for --smtp-outage-seconds.

Then it waits for the work to settle and checks, printing the counts: every due check applied
exactly once; every import row processed exactly once, each user imported once with their
accounts; every e-mail record sent, and the Message-IDs the SMTP server received (duplicates
counted and reported: delivery is at least once); no job, claim or e-mail left behind.
Exit status 1 when an invariant fails. There is no timing baseline: the figures are counts.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.simulate_months import DNSProcess  # noqa: E402
from tests.support.smtp_server import SMTPServer, spare_port  # noqa: E402


def postgres_bin() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, or Debian's versioned directory (newest first)."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]), reverse=True)
    return found[0].parent if found else None


def missing_tools() -> list[str]:
    """What this run needs from the machine and does not find (the test skips or fails on it)."""
    missing = []
    if postgres_bin() is None:
        missing.append("PostgreSQL's initdb and pg_ctl")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a 'postgres' user to run PostgreSQL as (we are root)")
    return missing


PG_BIN = postgres_bin() or Path("/usr/lib/postgresql/bin")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Postgres:
    def __init__(self, base: Path):
        self.home = base / "postgres"
        self.home.mkdir()
        self.data = self.home / "data"
        self.logfile = self.home / "server.log"
        self.port = spare_port()
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres")
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c max_connections=60 "
            "-c shared_buffers=64MB -c fsync=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "120", "-o", options, "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )

    def crash(self) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


class Redis:
    def __init__(self, base: Path):
        self.home = base / "redis"
        self.home.mkdir()
        self.port = spare_port()
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.home),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "no"],
            stdout=open(self.home / "redis.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def crash(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    stop = crash


class Celery:
    """`celery worker` or `celery beat` in its own process group (a kill takes its children)."""

    def __init__(self, kind: str, env: dict, base: Path):
        self.kind, self.env, self.base = kind, env, base
        self.process = None
        self.starts = 0
        self.exits: list[int] = []  # exit codes of runs that ended on their own
        self.lock = threading.RLock()

    def supervise(self) -> None:
        """What systemd's Restart=always (or the platform's process manager) does: a process
        that exited on its own is started again."""
        with self.lock:
            if self.process is not None and self.process.poll() is not None:
                self.exits.append(self.process.returncode)
                log(f"  {self.kind} exited with status {self.process.returncode}; the supervisor starts it again")
                self.start()

    def start(self) -> None:
        self.starts += 1
        if self.kind == "worker":
            args = ["worker", "-Q", "checks,default,imports", "-c", "2", "-n", f"chaos{self.starts}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
        else:
            args = ["beat", "-s", str(self.base / "beat-schedule"), "-l", "WARNING"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT, env=self.env, start_new_session=True,
            stdout=open(self.base / f"{self.kind}.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )

    def kill(self) -> None:
        with self.lock:
            self._kill()

    def _kill(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        with self.lock:
            if self.process is not None:
                try:
                    os.killpg(self.process.pid, signal.SIGTERM)
                    self.process.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    self._kill()
                self.process = None


def retrying(what: str, function, *, deadline: float, pause: float = 1.0):
    """Call `function` until it succeeds (PostgreSQL or Redis may be down), as a web client retries."""
    from django.db import connection

    while True:
        try:
            return function()
        except Exception as error:
            if time.monotonic() > deadline:
                raise
            log(f"  {what} failed ({type(error).__name__}); retrying")
            connection.close()
            time.sleep(pause)


def main(argv=None) -> int:  # noqa: C901, PLR0915  (one story, told in order)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=2000)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--phase-seconds", type=float, default=300.0)
    parser.add_argument("--smtp-outage-seconds", type=float, default=120.0)
    parser.add_argument("--worker-kills", type=int, default=4)
    parser.add_argument("--settle-seconds", type=float, default=900.0, help="give up waiting after this")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the counts to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = parser.parse_args(argv)
    rnd = random.Random(args.seed)
    if missing_tools():
        sys.exit("chaos_run needs " + ", ".join(missing_tools()))

    base = Path(tempfile.mkdtemp(prefix="chaos-"))
    os.chmod(base, 0o711)  # noqa: S103  (the postgres user must pass through to its own directory)
    log(f"chaos run in {base}")
    postgres, redis, smtp, dns = Postgres(base), Redis(base), SMTPServer().start(), DNSProcess()
    postgres.start()
    redis.start()
    chunk = max(50, args.users // 20)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "chaos-run-only-secret-key-" + "x" * 40,
        "DEBUG": "0",
        "DATABASE_URL": postgres.url,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/1",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "EMAIL_TIMEOUT": "5",
        "EMAIL_BATCH_SIZE": "20",
        "EMAIL_MAX_ATTEMPTS": "1000",  # the SMTP outage must not exhaust them
        "EMAIL_RETRY_BACKOFF_SECONDS": "1",
        "EMAIL_RETRY_BACKOFF_MAX_SECONDS": "10",
        "EMAIL_TASK_SOFT_TIME_LIMIT": "20",
        "EMAIL_LEASE_SECONDS": "60",
        "EMAIL_SWEEP_SECONDS": "5",
        "EMAIL_REQUEUE_GRACE_SECONDS": "15",
        "EMAIL_DELIVER_INLINE": "0",
        "DNS_NAMESERVERS": "127.0.0.1",
        "DNS_PORT": str(dns.port),
        "DNS_TIMEOUT_SECONDS": "1",
        "DNS_AUTHORITATIVE_MODE": "0",
        "BACKGROUND_CHECK_DEADLINE_SECONDS": "3",
        "DOMAIN_DISPATCH_SECONDS": "3",
        "DOMAIN_DISPATCH_BATCH_SIZE": "100",
        "DOMAIN_CHECK_CONCURRENCY": "32",
        "DOMAIN_CHECK_LEASE_SECONDS": "30",
        "DOMAIN_EXPIRY_SWEEP_SECONDS": "30",
        "DOMAIN_REMINDER_SWEEP_SECONDS": "30",
        "IMPORT_CHUNK_SIZE": str(chunk),
        "IMPORT_CHUNK_DELAY_SECONDS": str(args.phase_seconds / 2 / 20),  # the import spans the phase
        "IMPORT_TASK_TIME_BUDGET_SECONDS": "5",
        "IMPORT_STALL_SECONDS": "20",
        "IMPORT_RESUME_SWEEP_SECONDS": "5",
        "IMPORT_MAX_ATTEMPTS": "1000",  # far more crashes than life brings
        "MAIL_RATE_PER_RECIPIENT": "1000",
        "MAIL_RATE_PER_ADDRESS": "100000",
        "CELERY_TASK_SOFT_TIME_LIMIT": "60",
        "CELERY_TASK_TIME_LIMIT": "90",
        "HEARTBEAT_SECONDS": "10",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from django.db import connection

    from console import clock
    from console.errors import ConsoleError
    from console.models import Account, Membership, Organization, OutboundEmail, User
    from domains import members
    from domains.models import Domain, DomainCheck
    from imports import services as imports
    from imports.models import ImportJob, ImportRow

    # --- the world ----------------------------------------------------------------------------
    now = clock.now()
    phase = timedelta(seconds=args.phase_seconds)
    organizations = Organization.objects.bulk_create(
        [Organization(name=f"Chaos Org {i}") for i in range(max(1, args.domains // 100))]
    )
    owners = User.objects.bulk_create(
        [User(email=f"owner@org{o.pk}.owners.test", email_domain=f"org{o.pk}.owners.test", password="!", email_verified=True)
         for o in organizations]
    )
    Membership.objects.bulk_create(
        [Membership(user=u, organization=o, role=Membership.Role.OWNER) for u, o in zip(owners, organizations, strict=True)]
    )
    # Due at random moments of the phase; one in ten lost its record (it will need re-validation).
    domains = Domain.objects.bulk_create(
        [
            Domain(
                organization=organizations[i % len(organizations)],
                name=f"d{i}.chaos.test",
                unicode_name=f"d{i}.chaos.test",
                status=Domain.Status.VERIFIED,
                verified_at=now - timedelta(days=30),
                next_check_at=now + timedelta(seconds=rnd.uniform(0, phase.total_seconds() * 0.8)),
            )
            for i in range(args.domains)
        ],
        batch_size=2000,
    )
    lost_record = {d.pk for d in domains if rnd.random() < 0.1}
    for d in domains:
        if d.pk not in lost_record:
            dns.set_txt(f"_twilio.{d.name}", f"twilio-domain-verification={d.token}")
    dns.flush()

    importer = Organization.objects.create(name="Importer", features=[imports.FEATURE])
    admin = User.objects.create_user("admin@importer.test", password=None, email_verified=True)
    Membership.objects.create(user=admin, organization=importer, role=Membership.Role.OWNER)
    far = now + timedelta(days=365)  # not part of the sweep
    import_domain = Domain.objects.create(
        organization=importer, name="people.chaos.test", unicode_name="people.chaos.test",
        status=Domain.Status.VERIFIED, verified_at=now, next_check_at=far,
    )
    Domain.objects.create(  # the domain the invitations go to
        organization=importer, name="invited.chaos.test", unicode_name="invited.chaos.test",
        status=Domain.Status.VERIFIED, verified_at=now, next_check_at=far,
    )
    people = User.objects.bulk_create(
        [User(email=f"p{i}@people.chaos.test", email_domain="people.chaos.test", password="!", email_verified=True)
         for i in range(args.users)],
        batch_size=5000,
    )
    Account.objects.bulk_create([Account(name=f"acct {u.pk}", owner=u) for u in people], batch_size=5000)
    log(f"world: {len(domains)} domains due in the next {phase.total_seconds() * 0.8:.0f} s "
        f"({len(lost_record)} lost their record), {len(people)} users to import, {args.emails} invitations to send")
    connection.close()

    # --- the run ------------------------------------------------------------------------------
    worker, beat = Celery("worker", env, base), Celery("beat", env, base)
    worker.start()
    beat.start()
    supervising = threading.Event()

    def supervisor() -> None:
        while not supervising.wait(1.0):
            worker.supervise()
            beat.supervise()

    threading.Thread(target=supervisor, daemon=True).start()
    started = time.monotonic()
    hard_deadline = started + args.phase_seconds + args.settle_seconds
    faults: list[tuple[float, str]] = []

    def fault(kind: str) -> None:
        faults.append((round(time.monotonic() - started, 1), kind))
        log(f"FAULT {kind}")

    job = retrying("report", lambda: imports.create_report_job(domain=import_domain, actor=admin), deadline=hard_deadline)

    # The web: invitations in small bursts through the phase; the import started once its report is ready.
    invited: list[str] = []

    def web() -> None:
        bursts = max(1, args.emails // 25)
        for burst in range(bursts):
            for n in range(burst * args.emails // bursts, (burst + 1) * args.emails // bursts):
                email = f"new{n}@invited.chaos.test"

                def add(email=email):
                    try:
                        members.add_member(organization=importer, email=email, role="member", actor=admin)
                    except ConsoleError as error:
                        if error.code not in ("already_member", "managed_elsewhere"):
                            raise  # a committed earlier try is fine; anything else is not
                retrying(f"invite {email}", add, deadline=hard_deadline)
                invited.append(email)
            time.sleep(args.phase_seconds * 0.8 / bursts)
        connection.close()

    def start_import_when_ready() -> None:
        def ready():
            job.refresh_from_db()
            return job.status

        while retrying("job status", ready, deadline=hard_deadline) != ImportJob.Status.REPORT_READY:
            time.sleep(1)
        retrying("start import", lambda: imports.start_import(job=job, actor=admin), deadline=hard_deadline)
        log("import started")
        connection.close()

    threads = [threading.Thread(target=web, daemon=True), threading.Thread(target=start_import_when_ready, daemon=True)]
    for thread in threads:
        thread.start()

    # The faults: each kind at least once, in a random order at random moments of the phase.
    kinds = ["smtp", "redis", "postgres"] + ["worker"] * args.worker_kills
    rnd.shuffle(kinds)
    moments = sorted(rnd.uniform(0.05, 0.85) * args.phase_seconds for _ in kinds)
    smtp_back_at = None
    for moment, kind in zip(moments, kinds, strict=True):
        time.sleep(max(0.0, started + moment - time.monotonic()))
        if kind == "smtp":
            fault(f"smtp refuses connections for {args.smtp_outage_seconds:.0f} s")
            smtp.stop()
            smtp_back_at = time.monotonic() + args.smtp_outage_seconds
            threading.Timer(args.smtp_outage_seconds, lambda: (smtp.start(), log("  smtp back"))).start()
            continue
        elif kind == "worker":
            fault("worker SIGKILL (whole process group)")
            with worker.lock:  # down for a moment, as a host reboot
                worker.kill()
                time.sleep(rnd.uniform(1, 4))
                worker.start()
        elif kind == "redis":
            fault("redis-server SIGKILL")
            redis.crash()
            time.sleep(rnd.uniform(2, 6))
            redis.start()
        elif kind == "postgres":
            fault("PostgreSQL crash (pg_ctl stop -m immediate)")
            postgres.crash()
            time.sleep(rnd.uniform(2, 6))
            postgres.start()
        log(f"  {kind} back")
    time.sleep(max(0.0, started + args.phase_seconds - time.monotonic()))
    if smtp_back_at:
        time.sleep(max(0.0, smtp_back_at - time.monotonic()))
    for thread in threads:
        thread.join(timeout=max(1.0, hard_deadline - time.monotonic()))
    log(f"chaos phase over after {time.monotonic() - started:.0f} s; waiting for the work to settle")

    # --- settle -------------------------------------------------------------------------------
    due_ids = [d.pk for d in domains]

    def pending() -> dict:
        checked = DomainCheck.objects.filter(domain_id__in=due_ids, trigger=DomainCheck.Trigger.SCHEDULE)
        return {
            "domains not yet checked": len(due_ids) - checked.values("domain_id").distinct().count(),
            "import jobs not finished": ImportJob.objects.exclude(
                status__in=[ImportJob.Status.COMPLETED, ImportJob.Status.FAILED]
            ).count(),
            "e-mails not sent": OutboundEmail.objects.filter(
                status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING]
            ).count(),
        }

    left = {}
    while time.monotonic() < hard_deadline:
        left = retrying("settle", pending, deadline=hard_deadline)
        if not any(left.values()):
            break
        log(f"  waiting: {left}")
        time.sleep(5)
    settled_after = time.monotonic() - started
    supervising.set()
    beat.stop()
    worker.stop()

    # --- the invariants -----------------------------------------------------------------------
    failures: list[str] = []

    def expect(condition: bool, message: str) -> None:
        if not condition:
            failures.append(message)

    per_domain = Counter(
        DomainCheck.objects.filter(domain_id__in=due_ids, trigger=DomainCheck.Trigger.SCHEDULE).values_list(
            "domain_id", flat=True
        )
    )
    statuses = dict(Domain.objects.filter(pk__in=due_ids).values_list("pk", "status"))
    wrong_state = [
        pk for pk in due_ids
        if statuses[pk] != (Domain.Status.REVALIDATION_REQUIRED if pk in lost_record else Domain.Status.VERIFIED)
    ]
    checks = {
        "due": len(due_ids),
        "applied once": sum(1 for pk in due_ids if per_domain[pk] == 1),
        "applied twice or more": sum(1 for pk in due_ids if per_domain[pk] > 1),
        "never applied": sum(1 for pk in due_ids if per_domain[pk] == 0),
        "now failing (record lost)": sum(1 for pk in due_ids if statuses[pk] == Domain.Status.REVALIDATION_REQUIRED),
        "in the wrong state": len(wrong_state),
        "claims left": Domain.objects.filter(pk__in=due_ids).exclude(claimed_due_at=None).count(),
    }
    expect(checks["applied once"] == len(due_ids), f"checks not applied exactly once: {checks}")
    expect(not wrong_state, f"{len(wrong_state)} domains in the wrong state")

    job.refresh_from_db()
    rows = ImportRow.objects.filter(job=job)
    people_ids = [u.pk for u in people]
    imported_members = Membership.objects.filter(
        organization=importer, user_id__in=people_ids, joined_via=Membership.JoinedVia.IMPORTED
    ).count()
    import_counts = {
        "users": len(people),
        "job status": job.status,
        "rows": rows.count(),
        "rows processed": rows.exclude(processed_at=None).count(),
        "rows imported": rows.filter(result=ImportRow.Result.IMPORTED).count(),
        "job imported count": job.rows_imported,
        "managed users created": imported_members,
        "accounts that followed": Account.objects.filter(owner_id__in=people_ids, organization=importer).count(),
        "accounts left behind": Account.objects.filter(owner_id__in=people_ids, organization=None).count(),
        "stalls resumed": job.attempts,
    }
    expect(job.status == ImportJob.Status.COMPLETED, f"import job ended {job.status}")
    expect(import_counts["rows"] == len(people), "a report row is missing or doubled")
    expect(import_counts["rows imported"] == len(people) == imported_members == job.rows_imported,
           f"import not exactly once: {import_counts}")
    expect(import_counts["accounts that followed"] == len(people), "accounts did not follow their owners")

    records = dict(OutboundEmail.objects.values_list("message_id", "status"))
    received = smtp.message_ids()
    by_template = Counter(OutboundEmail.objects.values_list("template", flat=True))
    mail = {
        "records": len(records),
        "by template": dict(sorted(by_template.items())),
        "records sent": sum(1 for s in records.values() if s == OutboundEmail.Status.SENT),
        "records failed": sum(1 for s in records.values() if s == OutboundEmail.Status.FAILED),
        "records still queued": sum(1 for s in records.values() if s in ("queued", "sending")),
        "messages received": sum(received.values()),
        "distinct Message-IDs received": len(received),
        "records never received": sum(1 for m in records if received[m] == 0),
        "duplicates received (at-least-once window)": sum(c - 1 for c in received.values() if c > 1),
        "received without a record": sum(1 for m in received if m not in records),
        "invitations added by the web": len(invited),
        "retried attempts": sum(OutboundEmail.objects.filter(attempts__gt=1).values_list("attempts", flat=True)) or 0,
    }
    expect(mail["records sent"] == len(records), f"e-mails not all sent: {mail}")
    expect(mail["records never received"] == 0, "an e-mail record was never received")
    expect(mail["received without a record"] == 0, "a message arrived that no record explains")
    expect(by_template.get("console_invitation", 0) == len(invited) == args.emails, "an invitation record is missing")

    stuck = {
        **{k: v for k, v in left.items() if v},
        "import jobs not completed": ImportJob.objects.exclude(status=ImportJob.Status.COMPLETED).count(),
    }
    expect(not any(stuck.values()), f"stuck: {stuck}")

    summary = {
        "faults": faults,
        "worker starts": worker.starts,
        "worker exits on its own (restarted by the supervisor)": worker.exits,
        "beat exits on its own (restarted by the supervisor)": beat.exits,
        "settled after seconds": round(settled_after, 1),
        "checks": checks,
        "import": import_counts,
        "e-mail": mail,
        "stuck": stuck,
        "failures": failures,
    }
    print(json.dumps(summary, indent=2, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, default=str))

    connection.close()
    smtp.stop()
    dns.stop()
    redis.stop()
    postgres.stop()
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    log("every invariant held" if not failures else f"{len(failures)} invariant(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
