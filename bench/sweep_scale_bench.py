"""Benchmark: the re-check sweep scaled across Celery worker processes, and bound by the
network rather than by a thread pool.

    createdb -h 127.0.0.1 -U postgres h_sweep_bench
    .venv/bin/python bench/sweep_scale_bench.py [--domains 10000] [--processes 1,2,4] [--delay-ms 100]
        [--delay-domains 5000]      (--processes "" or --delay-domains 0 skip those runs)

Everything on loopback: Debian's knotd serving one TXT record per domain, PostgreSQL, Redis as
the broker, and real `celery worker` processes (prefork, 1, 2 and 4 processes) consuming the
check_batch tasks the real dispatcher queues. For each process count: domains checked per
second from the first claim to the last result written, and that every due check was applied
exactly once. Then the same with a proxy in front of knotd that answers every query 100 ms
late (bench/delay_proxy.py: dnsdist's DelayResponseAction where dnsdist is installed): one
worker process must still sustain >= 500 checks/s. Before each run the domain tables are
vacuumed and analysed, as autovacuum would have done on a production server.
For every run, the CPU seconds of each part (workers, their PostgreSQL backends, knotd, Redis,
the dispatcher, the proxy) and of the rest of the machine, read from /proc, so a shortfall on a
shared machine can be told apart from the sweep's own limits; and the ratio the cores would
allow the sweep if it had them to itself.
Goals: 2 processes >= 1.7 x one process; >= 500 checks/s with 100 ms answers.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/h_sweep_bench")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/11")
os.environ.update(
    {
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "REDIS_URL": BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "60",
    }
)
import delay_proxy  # noqa: E402
from recheck_bench import ZONE, free_port, start_knot  # noqa: E402


def worker_env(dns_port: int) -> dict:
    return {
        **os.environ,
        "DNS_NAMESERVERS": "127.0.0.1",
        "DNS_PORT": str(dns_port),
        "DNS_AUTHORITATIVE_MODE": "0",
        "DNS_TIMEOUT_SECONDS": "3",
        "BACKGROUND_CHECK_DEADLINE_SECONDS": "10",
    }


def start_worker(processes: int, dns_port: int, tag: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "checks", "-c", str(processes),
        "-P", "prefork", "--prefetch-multiplier", "1", "-l", "warning", "-n", f"sweep-{tag}@%h", "--without-mingle",
        "--without-gossip", "--without-heartbeat",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=worker_env(dns_port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_ready(app, tag: str, processes: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.inspect(timeout=1.0).stats() or {}
        for name, stats in replies.items():
            if name.startswith(f"sweep-{tag}@") and len(stats.get("pool", {}).get("processes", [])) == processes:
                return
    raise SystemExit(f"worker {tag} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a prefork worker: the parent and its pool processes)."""
    pids, index = [pid], 0
    while index < len(pids):
        try:
            children = Path(f"/proc/{pids[index]}/task/{pids[index]}/children").read_text().split()
        except OSError:
            children = []
        pids += [int(child) for child in children]
        index += 1
    return pids


def machine_busy() -> float:
    """CPU seconds all cores spent not idle since boot (the whole machine, every user's work)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICKS  # minus idle and iowait; guest is inside user


PARTS = ("workers", "postgres", "knotd", "redis", "dispatcher", "bench", "proxy")


def sample_backends(seen: dict) -> float:
    """Record the CPU seconds of this database's PostgreSQL backends (the workers open and close
    theirs per task, so they are sampled while they live: `seen` keeps each one's latest);
    returns our own backend's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, pid = pg_backend_pid() FROM pg_stat_activity WHERE datname = current_database()")
        rows = cursor.fetchall()
    for pid, is_own in rows:
        if not is_own:
            seen[pid] = max(seen.get(pid, 0.0), process_cpu(pid))
    return sum(process_cpu(pid) for pid, is_own in rows if is_own)


def cpu_snapshot(worker_pid: int, knot_pid: int, redis, proxy_pid: int | None, backends: dict) -> dict:
    """CPU seconds so far of each part of the sweep: the worker processes; the PostgreSQL
    backends of this database but our own; knotd; Redis (the whole server, which other users
    share); this process and its backend (the dispatcher's claims and the poll for the last
    result, which the caller tells apart); the delay proxy; and the whole machine."""
    import resource

    own = sample_backends(backends)
    info = redis.info("cpu")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "workers": sum(process_cpu(pid) for pid in process_tree(worker_pid)),
        "backends": dict(backends),
        "knotd": process_cpu(knot_pid),
        "redis": info["used_cpu_user"] + info["used_cpu_sys"],
        "bench": usage.ru_utime + usage.ru_stime + own,
        "proxy": process_cpu(proxy_pid) if proxy_pid else 0.0,
        "machine": machine_busy(),
        "wall": time.perf_counter(),
    }


def cpu_used(before: dict, after: dict) -> dict:
    """Per part, CPU seconds between two snapshots (backends that appeared in between from 0);
    "others" is the rest of the machine: other users' work."""
    used = {key: after[key] - before[key] for key in (*PARTS, "machine", "wall") if key not in ("postgres", "dispatcher")}
    used["postgres"] = sum(cpu - before["backends"].get(pid, 0.0) for pid, cpu in after["backends"].items())
    return used


def vacuum() -> None:
    """What autovacuum does on a production server between two sweeps (it is off on the shared
    development server): without it the planner, guessing from an empty table's statistics, joins
    each batch write against a scan of every verified row and its dead versions."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("domains_domain", "domains_domaincheck"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def run(app, domain_ids, processes: int, dns_port: int, tag: str, knot_pid: int, proxy_pid: int | None = None) -> dict:
    import redis as redis_client
    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from console import clock
    from domains import tasks
    from domains.models import Domain, DomainCheck

    DomainCheck.objects.all().delete()
    now = clock.now()
    Domain.objects.filter(pk__in=domain_ids).update(
        next_check_at=now - timedelta(seconds=1), lease_expires_at=None, claimed_due_at=None
    )
    vacuum()
    app.control.purge()
    worker = start_worker(processes, dns_port, tag)
    try:
        wait_ready(app, tag, processes)
        broker = redis_client.Redis.from_url(BROKER_URL)
        backends: dict = {}
        before = cpu_snapshot(worker.pid, knot_pid, broker, proxy_pid, backends)
        started, started_at = time.perf_counter(), timezone.now()
        # The dispatcher's claims run in this process and its backend: counted apart from the poll.
        dispatcher_cpu = time.process_time() + sample_backends(backends)
        tasks.dispatch_due_checks()  # the real dispatcher, queueing check_batch tasks to Redis
        dispatcher_cpu = time.process_time() + sample_backends(backends) - dispatcher_cpu
        n = len(domain_ids)
        while DomainCheck.objects.count() < n:
            time.sleep(0.25)  # bench only: polling the database for the last result
            sample_backends(backends)
            if time.perf_counter() - started > 600:
                raise SystemExit(f"only {DomainCheck.objects.count()} of {n} checks after 10 minutes")
        cpu = cpu_used(before, cpu_snapshot(worker.pid, knot_pid, broker, proxy_pid, backends))
        # The last result's own time, not the poll's: the poll's interval does not count.
        elapsed = (DomainCheck.objects.aggregate(last=Max("checked_at"))["last"] - started_at).total_seconds()
        cpu.update(dispatcher=dispatcher_cpu, bench=cpu["bench"] - dispatcher_cpu)
        cpu["others"] = cpu["machine"] - sum(cpu[key] for key in PARTS)
    finally:
        stop(worker)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT (domain_id, due_at)) FROM domains_domaincheck")
        total, distinct = cursor.fetchone()
    return {"processes": processes, "rate": n / elapsed, "seconds": elapsed, "checks": total, "distinct": distinct,
            "exactly_once": total == distinct == n, "cpu": cpu}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=10000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--delay-ms", type=float, default=100.0)
    parser.add_argument("--delay-domains", type=int, default=5000)
    args = parser.parse_args()

    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    import django

    django.setup()
    from celery import current_app as app
    from django.conf import settings
    from django.core.management import call_command

    from console import clock
    from console.models import Organization
    from domains.models import Domain, new_token

    call_command("migrate", verbosity=0)
    n = args.domains
    tokens = [new_token() for _ in range(n)]
    names = [f"d{i}.{ZONE}" for i in range(n)]
    records = [
        (f"{settings.DOMAIN_TXT_LABEL}.{host}", f"{settings.DOMAIN_TXT_PREFIX}{token}")
        for host, token in zip(names, tokens, strict=True)
    ]
    now = clock.now()
    organization = Organization.objects.create(name="Sweep bench")
    Domain.objects.bulk_create(
        [
            Domain(organization=organization, name=host, unicode_name=host, token=token, status="verified",
                   verified_at=now - timedelta(days=1), next_check_at=now, created_at=now - timedelta(days=1))
            for host, token in zip(names, tokens, strict=True)
        ],
        batch_size=2000,
    )
    domain_ids = list(Domain.objects.values_list("pk", flat=True).order_by("pk"))

    workdir = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    knot_port = free_port()
    knot = start_knot(workdir, knot_port, records)
    proxy, delayed = None, None
    try:
        results = [run(app, domain_ids, int(p), knot_port, f"p{p}", knot.pid) for p in args.processes.split(",") if p]
        if args.delay_domains:
            proxy_port = free_port()
            proxy = delay_proxy.start(workdir, proxy_port, knot_port, args.delay_ms)
            delayed = run(app, domain_ids[: args.delay_domains], 1, proxy_port, "delayed", knot.pid, proxy.pid)
    finally:
        if proxy is not None:
            proxy.kill()
        knot.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    report(args, n, results, delayed)


def report(args, n: int, results: list[dict], delayed: dict | None) -> None:
    from django.conf import settings

    load = os.getloadavg()
    print(f"\nSweep scale-out: {n} due domains, knotd on loopback, Redis broker, prefork workers "
          f"(DOMAIN_CHECK_CONCURRENCY {settings.DOMAIN_CHECK_CONCURRENCY}, batch {settings.DOMAIN_DISPATCH_BATCH_SIZE}); "
          f"delay: {'dnsdist' if delay_proxy.DNSDIST else 'bench/delay_proxy.py'}; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'worker processes':<18}{'checks/s':>10}{'seconds':>10}{'vs 1':>8}{'exactly once':>14}")
    base = results[0]["rate"] if results else None
    for row in results:
        print(f"{row['processes']:<18}{row['rate']:>10.0f}{row['seconds']:>10.1f}{row['rate'] / base:>8.2f}"
              f"{str(row['exactly_once']):>14}")
    if delayed:
        print(f"{'1, DNS +' + str(int(args.delay_ms)) + ' ms':<18}{delayed['rate']:>10.0f}{delayed['seconds']:>10.1f}"
              f"{'':>8}{str(delayed['exactly_once']):>14}")
    cores = os.cpu_count()
    print(f"\nCPU seconds during each run ({cores} cores). postgres: the workers' backends; redis: the whole "
          "server (shared); dispatcher: its claims, Python and SQL; bench: this script's poll for the last result; "
          "proxy: the delaying proxy; others: the rest of the machine")
    columns = (*PARTS, "others")
    print(f"{'worker processes':<18}" + "".join(f"{part:>11}" for part in columns)
          + f"{'busy':>7}{'worker ms/check':>17}{'worker cores':>14}")
    rows = [*results, *([{**delayed, "processes": "1, DNS delayed"}] if delayed else [])]
    for row in rows:
        cpu, checks = row["cpu"], row["checks"] or 1
        print(f"{row['processes']!s:<18}" + "".join(f"{cpu[part]:>11.1f}" for part in columns)
              + f"{cpu['machine'] / (cores * cpu['wall']):>7.0%}{cpu['workers'] / checks * 1000:>17.2f}"
              f"{cpu['workers'] / cpu['wall']:>14.2f}")
    print(f"{'ms per check':<18}" + "".join(f"{'':>11}" for _ in columns))
    for row in rows:
        cpu, checks = row["cpu"], row["checks"] or 1
        print(f"{row['processes']!s:<18}" + "".join(f"{cpu[part] / checks * 1000:>11.3f}" for part in columns))
    if results:
        # What the cores allow when the sweep has them to itself: a worker process can use at most
        # one core, and every check also costs the rest of the sweep (PostgreSQL, knotd, Redis, dispatcher).
        one = results[0]
        worker_ms = one["cpu"]["workers"] / one["checks"] * 1000
        rest_ms = sum(one["cpu"][part] for part in ("postgres", "knotd", "redis", "dispatcher")) / one["checks"] * 1000
        ceiling_one = min(1000 / worker_ms, cores * 1000 / (worker_ms + rest_ms))
        ceiling_two = min(2000 / worker_ms, cores * 1000 / (worker_ms + rest_ms))
        print(f"CPU per check (1 process): worker {worker_ms:.2f} ms, rest of the sweep {rest_ms:.2f} ms; with the "
              f"{cores} cores to itself at most {ceiling_one:.0f} checks/s by 1 process, {ceiling_two:.0f} by 2 "
              f"({ceiling_two / ceiling_one:.2f}x); in these runs other work used "
              + ", ".join(f"{row['cpu']['others'] / row['cpu']['wall']:.2f}" for row in results) + " cores")
    two = next((r for r in results if r["processes"] == 2), None)
    if two:
        print(f"goal 2 processes >= 1.7 x one: {two['rate'] / base:.2f} "
              f"({'met' if two['rate'] / base >= 1.7 else 'NOT met'})")
    if delayed:
        print(f"goal >= 500 checks/s with {args.delay_ms:.0f} ms answers: {delayed['rate']:.0f} "
              f"({'met' if delayed['rate'] >= 500 else 'NOT met'})")

if __name__ == "__main__":
    main()
