"""/metrics with no check history and with one year of daily re-checks for 10,000 domains.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_metrics .venv/bin/python bench/metrics_bench.py \\
        [--domains 10000] [--days 365] [--rounds 10] [--reuse]

Two databases, each with 10,000 verified domains: `<name>_empty` with no check rows, and `<name>`
with --domains × --days check rows (3.65 M by default, written by INSERT … SELECT generate_series,
the counting trigger included) and VACUUM ANALYZE (--reuse keeps it from an earlier run when it
holds that many rows: filling it takes minutes). /metrics is scraped through the whole Django
stack (test client, METRICS_TOKEN), alternating between the two databases round by round so a
busy machine slows both alike. Prints the median and p95 of each and their ratio (goal ≤ 1.5).
For scale it also times what /metrics used to run, a GROUP BY over every check row.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_bench import ensure_database  # noqa: E402

TOKEN = "metrics-bench-token"


def scrape(client, times: int) -> list[float]:
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return timings


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms"


def create_domains(count: int) -> None:
    from console import clock
    from console.models import Organization
    from domains.models import Domain

    now = clock.now()
    organizations = Organization.objects.bulk_create(
        [Organization(name=f"Metrics Org {i}") for i in range(max(1, count // 100))]
    )
    Domain.objects.bulk_create(
        [
            Domain(organization=organizations[i % len(organizations)], name=f"d{i}.metrics.test",
                   unicode_name=f"d{i}.metrics.test", status=Domain.Status.VERIFIED, verified_at=now,
                   next_check_at=now)
            for i in range(count)
        ],
        batch_size=5000,
    )


def fill_checks(days: int) -> None:
    """One check a day per domain for `days` days: mostly verified, a few of each other outcome."""
    from django.db import connection

    from console import clock

    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO domains_domaincheck
                (domain_id, checked_at, method, outcome, detail, detail_message, diagnostics, duration_ms,
                 trigger, due_at)
            SELECT d.id, %s - make_interval(days => g), 'dns',
                   CASE WHEN g %% 97 = 0 THEN 'inconclusive' WHEN g %% 211 = 0 THEN 'not_found' ELSE 'verified' END,
                   'The TXT record was found.', '{}'::jsonb, '[]'::jsonb, 40, 'schedule',
                   %s - make_interval(days => g)
            FROM domains_domain d CROSS JOIN generate_series(1, %s) AS g
            """,
            [now, now, days],
        )
        cursor.execute("VACUUM ANALYZE")


def use_database(name: str) -> None:
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def count_checks() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM domains_domaincheck")
        return cursor.fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=10000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of 5 scrapes on each database")
    parser.add_argument("--reuse", action="store_true", help="keep the full database of an earlier run")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_metrics")
    if not database_url.startswith("postgres"):
        sys.exit("metrics_bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    full_name = database_url.rsplit("/", 1)[1]
    empty_name = f"{full_name}_empty"
    ensure_database(database_url.rsplit("/", 1)[0] + "/" + empty_name)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": "memory://",
            "METRICS_TOKEN": TOKEN,
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    rows = args.domains * args.days

    use_database(empty_name)
    call_command("migrate", "--noinput", verbosity=0)
    create_domains(args.domains)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    use_database(full_name)
    try:
        reusable = args.reuse and count_checks() == rows
    except Exception:  # noqa: BLE001  (no such database or table yet)
        reusable = False
    if reusable:
        print(f"reusing {full_name} with {rows:,} check rows", flush=True)
    else:
        use_database(empty_name)
        ensure_database(database_url)
        use_database(full_name)
        call_command("migrate", "--noinput", verbosity=0)
        create_domains(args.domains)
        started = time.perf_counter()
        fill_checks(args.days)
        print(f"wrote {count_checks():,} check rows in {time.perf_counter() - started:.0f} s", flush=True)

    client = Client()
    timings: dict[str, list[float]] = {empty_name: [], full_name: []}
    for _ in range(args.rounds):
        for name in (empty_name, full_name):
            use_database(name)
            scrape(client, 1)  # the new connection's first queries are not what we measure
            timings[name].extend(scrape(client, 5))
    empty, full = timings[empty_name], timings[full_name]
    print(f"0 check rows: {summary(empty)}", flush=True)
    print(f"{rows:,} check rows: {summary(full)}", flush=True)

    use_database(full_name)
    old_query = []
    with connection.cursor() as cursor:
        for _ in range(3):
            started = time.perf_counter()
            cursor.execute("SELECT outcome, COUNT(*) FROM domains_domaincheck GROUP BY outcome")
            cursor.fetchall()
            old_query.append((time.perf_counter() - started) * 1000)
    print(f"for scale, the full-table count /metrics used to run: {summary(old_query)}")
    ratio = statistics.median(full) / statistics.median(empty)
    print(f"ratio with / without history (medians): {ratio:.2f} (goal ≤ 1.5)")


if __name__ == "__main__":
    main()
