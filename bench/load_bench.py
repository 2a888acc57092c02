"""Load: N signed-in admins browse the console under gunicorn while a worker runs a re-check sweep.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/load_bench.py [--admins 50] [--seconds 60]

Everything runs on loopback: PostgreSQL, Redis, gunicorn (processes and threads from gunicorn.conf.py,
as the Procfile serves: WEB_CONCURRENCY, WEB_THREADS), a Celery worker, a DNS server (dnslib)
serving the domains' TXT records. Prints requests per second, p50/p95/p99 latency and errors for
the console pages, and the same figures for a baseline run in the same process: the same clients
hitting /healthz (the smallest request through the same stack) for the same time.
"""

import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "load-bench-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:  # a fresh database each run
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(admins: int, domains: int, users: int, dns) -> dict:
    """Organization, admins, verified domains (due now, records published), users, an import job."""
    from django.apps import apps
    from django.conf import settings
    from django.contrib.auth.hashers import make_password

    from console import clock
    from console.models import Account, Membership, Organization, User
    from domains.models import Domain

    org = Organization.objects.create(name="Load Org", features=["bulk_user_import"])
    password = make_password(PASSWORD)
    admin_users = User.objects.bulk_create(
        [User(email=f"admin{i}@load.test", email_domain="load.test", password=password, email_verified=True)
         for i in range(admins)]
    )
    Membership.objects.bulk_create(
        [Membership(user=u, organization=org, role=Membership.Role.ADMINISTRATOR) for u in admin_users]
    )
    now = clock.now()
    # The admins' organization holds the product's maximum of domains; the rest belong to other
    # organizations, so the worker's sweep is larger than one organization's list.
    per_org = settings.DOMAIN_MAX_PER_ORGANIZATION - 1
    others = [Organization.objects.create(name=f"Other Org {n}") for n in range(max(0, domains - 1) // per_org)]
    owners = [org, *others]
    domain_rows = Domain.objects.bulk_create(
        [Domain(organization=owners[min(i // per_org, len(owners) - 1)], name=f"d{i}.load.test",
                unicode_name=f"d{i}.load.test", status=Domain.Status.VERIFIED, verified_at=now, next_check_at=now)
         for i in range(domains)]
        + [Domain(organization=org, name="load.test", unicode_name="load.test", status=Domain.Status.VERIFIED,
                  verified_at=now, next_check_at=now)]
    )
    for domain in domain_rows:
        dns.set_txt(f"_twilio.{domain.name}", f"twilio-domain-verification={domain.token}")
    members = User.objects.bulk_create(
        [User(email=f"user{i}@load.test", email_domain="load.test", password="!", email_verified=True)
         for i in range(users)]
    )
    Membership.objects.bulk_create([Membership(user=u, organization=org) for u in members[: users // 2]])
    Account.objects.bulk_create([Account(name=f"Account {u.pk}", owner=u, organization=org) for u in members])
    job_id = None
    try:
        from imports import services as import_services

        job_model = apps.get_model("imports", "ImportJob")
        apex = next(d for d in domain_rows if d.name == "load.test")
        job = import_services.create_report_job(domain=apex, actor=admin_users[0])
        import_services.build_report(job.pk)
        job_id = job_model.objects.get(pk=job.pk).pk
    except Exception as error:  # noqa: BLE001  (the import pages are optional for the bench)
        print(f"(no import job seeded: {error!r})")
    return {
        "domain_ids": [d.pk for d in domain_rows],
        "own_domain_ids": [d.pk for d in domain_rows if d.organization_id == org.pk],
        "job_id": job_id,
        "apex_id": domain_rows[-1].pk,
    }


def sign_in(base: str, email: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/sign-in/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base}/sign-in/",
        data={"csrfmiddlewaretoken": token, "username": email, "password": PASSWORD},
        headers={"Referer": f"{base}/sign-in/"},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed for {email}: {response.status_code}")
    return session


def drive(sessions, paths, seconds: float):
    latencies, errors, lock = [], [], threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(session, seed_value):
        rnd = random.Random(seed_value)
        while time.monotonic() < stop_at:
            path = rnd.choice(paths)
            started = time.perf_counter()
            try:
                response = session.get(path, timeout=30, allow_redirects=False)
                ok = response.status_code == 200
                detail = f"{response.status_code} {path}"
            except Exception as error:  # noqa: BLE001
                ok, detail = False, f"{error!r} {path}"
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors.append(detail)

    threads = [threading.Thread(target=client, args=(s, i)) for i, s in enumerate(sessions)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "errors": len(errors),
        "error_samples": errors[:5],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admins", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--domains", type=int, default=300)
    parser.add_argument("--users", type=int, default=2000)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_load")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    if not database_url.startswith("postgres"):
        sys.exit("load_bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    ensure_database(database_url)

    from tests.support.dns_server import LoopbackDNSServer

    dns = LoopbackDNSServer()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DNS_NAMESERVERS": "127.0.0.1",
        "DNS_PORT": str(dns.port),
        "DNS_AUTHORITATIVE_MODE": "0",
        "LOG_LEVEL": "WARNING",
        "VERIFY_RATE_PER_ORGANIZATION": "100000",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    print(f"seeding: {args.admins} admins, {args.domains} domains, {args.users} users ...", flush=True)
    seeded = seed(args.admins, args.domains, args.users, dns)

    children = []
    try:
        children.append(subprocess.Popen(
            # Processes and threads from gunicorn.conf.py, as the Procfile and run_console serve.
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--config", str(ROOT / "gunicorn.conf.py"),
             "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT, env=env,
        ))
        children.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "checks,default", "-l", "warning",
             "--concurrency", "2", "-n", f"loadbench{port}@%h"],
            cwd=ROOT, env=env,
        ))
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        sessions = [sign_in(base, f"admin{i}@load.test") for i in range(args.admins)]
        for session in sessions:
            session.headers["Accept-Language"] = "en"
        paths = [f"{base}/domains/", f"{base}/users/", f"{base}/users/?page=2", f"{base}/accounts/"]
        own = seeded["own_domain_ids"]
        paths += [f"{base}/domains/{pk}/" for pk in random.Random(1).sample(own, min(20, len(own)))]
        paths += [f"{base}/imports/domain/{seeded['apex_id']}/"]
        if seeded["job_id"]:
            paths += [f"{base}/imports/job/{seeded['job_id']}/"]

        print(f"baseline: {args.admins} clients on /healthz for {args.baseline_seconds:.0f} s", flush=True)
        baseline = drive(sessions, [f"{base}/healthz"], args.baseline_seconds)

        from celery import current_app as app

        from domains.models import DomainCheck

        checks_before = DomainCheck.objects.count()
        sweeping = threading.Event()

        def sweep():
            while not sweeping.is_set():
                app.send_task("domains.dispatch_due_checks")
                sweeping.wait(5)

        sweeper = threading.Thread(target=sweep)
        sweeper.start()
        print(f"load: {args.admins} signed-in admins for {args.seconds:.0f} s on {len(paths)} pages, sweep running",
              flush=True)
        load = drive(sessions, paths, args.seconds)
        sweeping.set()
        sweeper.join()
        swept = DomainCheck.objects.count() - checks_before
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        dns.stop()

    print()
    print(f"{'run':<10}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, row in (("baseline", baseline), ("console", load)):
        print(f"{name:<10}{row['requests']:>10}{row['rps']:>10.1f}{row['p50']:>10.1f}{row['p95']:>10.1f}"
              f"{row['p99']:>10.1f}{row['errors']:>8}")
    print(f"ratio console/baseline req/s: {load['rps'] / baseline['rps']:.2f}")
    print(f"domain checks made by the worker during the load: {swept}")
    if load["errors"] or baseline["errors"]:
        print("error samples:", load["error_samples"] or baseline["error_samples"])
        sys.exit(1)


if __name__ == "__main__":
    main()
