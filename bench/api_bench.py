"""API vs console: list 100 domains, and page through 100,000 users, with one token under gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_api REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/api_bench.py [--users 100000] [--seconds 20] [--clients 4]

Everything runs on loopback: a fresh PostgreSQL database, Redis for the rate-limit counters,
gunicorn with the production settings. Prints requests per second, p50/p95 latency and objects
per second for each run, and the same for the console's own list pages measured in the same
run as the baseline (signed in as the token's Owner):

- domains: GET /api/v1/domains (one page of 100) vs GET /domains/ (the 100 domains), both by
  --clients concurrent clients for --seconds;
- users: the API's cursor pages (limit 100) walked through all users, vs the console's Users
  pages (50 per page, page numbers) sampled evenly across the same depth (--console-pages).
The goal is the API at least as fast per object as the console.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_bench import PASSWORD, ensure_database, free_port, sign_in  # noqa: E402


def seed(users: int, domains: int) -> dict:
    from django.contrib.auth.hashers import make_password

    from api import tokens
    from api.models import Scope
    from console import clock
    from console.models import Account, Membership, Organization, User
    from domains.models import Domain

    org = Organization.objects.create(name="Bench Org")
    owner = User.objects.create(
        email="owner@bench.test", email_domain="bench.test", password=make_password(PASSWORD), email_verified=True
    )
    Membership.objects.create(user=owner, organization=org, role=Membership.Role.OWNER)
    now = clock.now()
    Domain.objects.bulk_create(
        [
            Domain(organization=org, name=f"d{i:03}.bench.test", unicode_name=f"d{i:03}.bench.test",
                   status=Domain.Status.VERIFIED, verified_at=now, last_checked_at=now, last_outcome="verified",
                   next_check_at=now)
            for i in range(domains - 1)
        ]
        + [Domain(organization=org, name="bench.test", unicode_name="bench.test", status=Domain.Status.VERIFIED,
                  verified_at=now, next_check_at=now)]
    )
    batch = 10_000
    for start in range(0, users, batch):
        made = User.objects.bulk_create(
            [User(email=f"user{i:06}@bench.test", email_domain="bench.test", password="!", email_verified=True,
                  full_name=f"User {i}")
             for i in range(start, min(users, start + batch))]
        )
        Membership.objects.bulk_create(
            [Membership(user=u, organization=org, joined_via=Membership.JoinedVia.IMPORTED, via_domain="bench.test")
             for u in made]
        )
        Account.objects.bulk_create([Account(name=f"Account {u.pk}", owner=u, organization=org) for u in made[::5]])
        print(f"  {min(users, start + batch):,} users", flush=True)
    _token, secret = tokens.create_token(
        organization=org, name="Bench", scopes=Scope.values, created_by=owner, actor=owner
    )
    return {"token": secret, "owner": owner.email}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0.0


def summary(latencies, wall, objects, errors):
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "objects_per_s": objects / wall,
        "errors": errors,
    }


def hammer(sessions, url, seconds, count_objects):
    """Every session GETs `url` in a loop for `seconds`."""
    latencies, errors, objects, lock = [], [], [0], threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(session):
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            response = session.get(url, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {url}")
                else:
                    objects[0] += count_objects(response)

    threads = [threading.Thread(target=client, args=(s,)) for s in sessions]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary(latencies, time.monotonic() - started, objects[0], errors)


def walk_api_users(session, base):
    latencies, errors, objects = [], [], 0
    url = f"{base}/api/v1/users?limit=100"
    started = time.monotonic()
    while url:
        t0 = time.perf_counter()
        response = session.get(url, timeout=60)
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200:
            errors.append(f"{response.status_code} {url}")
            break
        body = response.json()
        objects += len(body["results"])
        url = body["next"]
    return summary(latencies, time.monotonic() - started, objects, errors)


def walk_console_users(session, base, users, pages):
    """The console's Users pages, `pages` of them spread evenly from the first to the last."""
    last_page = max(1, -(-users // 50))
    numbers = sorted({1 + round(i * (last_page - 1) / max(1, pages - 1)) for i in range(pages)})
    latencies, errors, objects = [], [], 0
    started = time.monotonic()
    for number in numbers:
        t0 = time.perf_counter()
        response = session.get(f"{base}/users/?page={number}", timeout=60)
        latencies.append(time.perf_counter() - t0)
        if response.status_code != 200:
            errors.append(f"{response.status_code} page {number}")
            continue
        objects += response.text.count('<select name="role"')
    return summary(latencies, time.monotonic() - started, objects, errors)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--console-pages", type=int, default=100)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_api")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    if not database_url.startswith("postgres"):
        sys.exit("api_bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    ensure_database(database_url)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "API_RATE_PER_TOKEN": "10000000",  # the benchmark measures the server, not the limit
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    print(f"seeding: {args.domains} domains, {args.users:,} users ...", flush=True)
    seeded = seed(args.users, args.domains)
    subprocess.run(["psql", database_url, "-qc", "VACUUM ANALYZE"], check=False, capture_output=True)

    import requests

    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.web_workers),
         "-k", "gthread", "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)

        def api_session():
            session = requests.Session()
            session.headers.update({"Authorization": f"Bearer {seeded['token']}", "Accept-Language": "en"})
            return session

        def console_session():
            session = sign_in(base, seeded["owner"])
            session.headers["Accept-Language"] = "en"
            return session

        api_sessions = [api_session() for _ in range(args.clients)]
        console_sessions = [console_session() for _ in range(args.clients)]
        for session in api_sessions:  # warm up both paths in every worker
            session.get(f"{base}/api/v1/domains", timeout=60)
        for session in console_sessions:
            session.get(f"{base}/domains/", timeout=60)

        print(f"domains: {args.clients} clients for {args.seconds:.0f} s each", flush=True)
        results = {
            "console /domains/": hammer(
                console_sessions, f"{base}/domains/", args.seconds, lambda r: r.text.count('<tr>') - 1
            ),
            "api /domains": hammer(
                api_sessions, f"{base}/api/v1/domains", args.seconds, lambda r: len(r.json()["results"])
            ),
        }
        print(f"users: console pages sampled ({args.console_pages}), then the API's cursor walk", flush=True)
        results["console /users/"] = walk_console_users(console_sessions[0], base, args.users, args.console_pages)
        results["api /users"] = walk_api_users(api_sessions[0], base)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    print()
    print(f"{'run':<20}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'objects/s':>12}{'errors':>8}")
    for name, row in results.items():
        print(f"{name:<20}{row['requests']:>10}{row['rps']:>10.1f}{row['p50']:>10.1f}{row['p95']:>10.1f}"
              f"{row['objects_per_s']:>12.0f}{len(row['errors']):>8}")
    for what in ("domains", "users"):
        api, console = results[f"api /{what}"], results[f"console /{what}/"]
        print(f"ratio api/console objects per second, {what}: {api['objects_per_s'] / console['objects_per_s']:.2f}")
    walked = results["api /users"]
    print(f"api users walked: {walked['requests']} pages, "
          f"{walked['objects_per_s'] * walked['requests'] / walked['rps']:,.0f} users" if walked["rps"] else "")
    if any(row["errors"] for row in results.values()):
        print("errors:", [row["errors"][:3] for row in results.values() if row["errors"]])
        sys.exit(1)


if __name__ == "__main__":
    main()
