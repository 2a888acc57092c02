"""Benchmark: the 24-hour re-check sweep of N verified domains due at once.

Runs against PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/h_life_bench;
create it with `createdb -h 127.0.0.1 -U postgres h_life_bench`) and a C authoritative DNS
server on loopback (Debian's knotd, started here unprivileged with a generated config and a
zone holding one `_twilio.dN.bench.test TXT` record per domain).

Measures, in the same run:
  - raw DNS: the same TXT queries issued directly with dnspython, same concurrency, no database;
  - sweep: the dispatcher claiming every due domain in batches + each batch checked
    concurrently (thread pool) and written in bulk (lifecycle.apply_check_results_bulk),
    in-process (the same functions the Celery tasks call);
and prints domains/second, the ratio against raw DNS, database statements per domain
(every cursor execute, counted with connection.execute_wrapper) and peak RSS.

    .venv/bin/python bench/recheck_bench.py [--domains 10000] [--concurrency 32] [--batch 500]
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure_environment() -> None:
    """This benchmark's settings; in main() so another script importing its helpers keeps its own."""
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/h_life_bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

ZONE = "bench.test"
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_knot(workdir: Path, port: int, records: list[tuple[str, str]]):
    zone_file = workdir / f"{ZONE}.zone"
    lines = [
        f"$ORIGIN {ZONE}.",
        "$TTL 300",
        f"@ IN SOA ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 300",
        f"@ IN NS ns.{ZONE}.",
        "ns IN A 127.0.0.1",
    ]
    lines += [f'{host}. IN TXT "{value}"' for host, value in records]
    zone_file.write_text("\n".join(lines) + "\n")
    config = workdir / "knot.conf"
    config.write_text(
        "server:\n"
        f'    rundir: "{workdir}"\n'
        f"    listen: 127.0.0.1@{port}\n"
        "database:\n"
        f'    storage: "{workdir}"\n'
        "log:\n"
        "  - target: stderr\n"
        "    any: warning\n"
        "zone:\n"
        f"  - domain: {ZONE}\n"
        f'    file: "{zone_file}"\n'
        f'    storage: "{workdir}"\n'
    )
    process = subprocess.Popen([KNOTD, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Ready when the last record answers (the zone loads asynchronously).
    import dns.exception
    import dns.message
    import dns.query

    probe = dns.message.make_query(records[-1][0], "TXT")
    for _ in range(200):
        try:
            reply = dns.query.udp(probe, "127.0.0.1", port=port, timeout=0.1)
            if reply.answer:
                return process
        except (OSError, dns.exception.DNSException):
            reply = None  # not up yet
        if process.poll() is not None:
            raise SystemExit(f"knotd exited: {process.stderr.read().decode()}")
        time.sleep(0.05)  # bench only: waiting for a server to come up
    process.kill()
    raise SystemExit("knotd did not answer")


def raw_dns_rate(hosts: list[str], port: int, concurrency: int) -> tuple[float, int]:
    import dns.resolver

    def query(host):
        resolver = dns.resolver.Resolver(configure=False)  # as the verifier does: no cache
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = port
        answer = resolver.resolve(host, "TXT", search=False, raise_on_no_answer=False, lifetime=5)
        return answer.rrset is not None

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        found = sum(pool.map(query, hosts))
    return len(hosts) / (time.perf_counter() - started), found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    configure_environment()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (createdb -h 127.0.0.1 -U postgres h_life_bench)")
    call_command("migrate", verbosity=0)

    from console import clock
    from console.models import AuditEvent, Organization, TaskHeartbeat
    from domains import scheduler
    from domains.models import Domain, DomainCheck, new_token

    # A clean slate for the bench's own rows.
    DomainCheck.objects.all().delete()
    AuditEvent.objects.all().delete()
    Domain.objects.all().delete()
    Organization.objects.filter(name="Bench").delete()
    TaskHeartbeat.objects.filter(name="dispatcher").delete()

    n = args.domains
    tokens = [new_token() for _ in range(n)]
    names = [f"d{i}.{ZONE}" for i in range(n)]
    prefix, label = settings.DOMAIN_TXT_PREFIX, settings.DOMAIN_TXT_LABEL
    records = [(f"{label}.{name}", f"{prefix}{token}") for name, token in zip(names, tokens, strict=True)]

    workdir = Path(tempfile.mkdtemp(prefix="recheck-bench-"))
    port = free_port()
    knot = start_knot(workdir, port, records)
    try:
        settings.DNS_NAMESERVERS = ["127.0.0.1"]
        settings.DNS_PORT = port
        settings.DNS_AUTHORITATIVE_MODE = False
        settings.DNS_TIMEOUT_SECONDS = 3.0
        settings.DOMAIN_CHECK_CONCURRENCY = args.concurrency

        now = clock.now()
        organization = Organization.objects.create(name="Bench")
        Domain.objects.bulk_create(
            [
                Domain(
                    organization=organization, name=name, unicode_name=name, token=token,
                    status=Domain.Status.VERIFIED, verified_at=now - timedelta(days=1),
                    next_check_at=now - timedelta(seconds=1), created_at=now - timedelta(days=1),
                )
                for name, token in zip(names, tokens, strict=True)
            ],
            batch_size=2000,
        )
        with connection.cursor() as cursor:  # autovacuum's statistics, as on a production server
            for table in ("domains_domain", "domains_domaincheck"):
                cursor.execute(f"VACUUM ANALYZE {table}")

        raw_rate, raw_found = raw_dns_rate([host for host, _ in records], port, args.concurrency)

        statements = 0

        def count(execute, sql, params, many, context):
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        batches = []
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            claimed = scheduler.dispatch_due(enqueue=batches.append, batch_size=args.batch, max_domains=n)
            applied = 0
            for claims in batches:
                applied += scheduler.run_claims(claims, concurrency=args.concurrency).applied
            elapsed = time.perf_counter() - started
        peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        verified = Domain.objects.filter(status=Domain.Status.VERIFIED, last_outcome="verified").count()
        checks = DomainCheck.objects.count()
        sweep_rate = applied / elapsed
        print(f"\nRe-check sweep: {n} verified domains due at once; knotd {port}/udp on loopback; "
              f"PostgreSQL {settings.DATABASES['default']['NAME']}; concurrency {args.concurrency}, batch {args.batch}")
        print(f"{'figure':<44}{'value':>14}")
        print("-" * 58)
        rows = [
            ("raw DNS (dnspython, no DB) queries/s", f"{raw_rate:,.0f}"),
            ("raw DNS answers found", f"{raw_found:,}"),
            ("sweep domains/s (claim+check+write)", f"{sweep_rate:,.0f}"),
            ("ratio sweep / raw DNS", f"{sweep_rate / raw_rate:.2f}"),
            ("domains claimed / checks applied", f"{claimed:,} / {applied:,}"),
            ("domains verified after sweep / DomainChecks", f"{verified:,} / {checks:,}"),
            ("DB statements in sweep", f"{statements:,}"),
            ("DB statements per domain", f"{statements / max(applied, 1):.4f}"),
            ("batches", f"{len(batches):,}"),
            ("sweep wall time s", f"{elapsed:.2f}"),
            ("peak RSS MiB (whole process)", f"{peak_rss_mib:,.0f}"),
            ("RSS growth during sweep MiB", f"{(peak_rss_mib - rss_before / 1024):,.0f}"),
        ]
        for label_text, value in rows:
            print(f"{label_text:<44}{value:>14}")
        goal_rate = sweep_rate >= raw_rate / 2
        goal_db = statements / max(applied, 1) <= 2
        print(f"\ngoal: >= half the raw DNS rate: {'met' if goal_rate else 'NOT met'}; "
              f"<= 2 DB round-trips per domain: {'met' if goal_db else 'NOT met'}")
    finally:
        knot.terminate()
        knot.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
