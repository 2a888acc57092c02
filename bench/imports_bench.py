"""Bulk User Import benchmark: report, import and CSV at scale, against a set-based SQL baseline.

    createdb -h 127.0.0.1 -U postgres h_imports_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_imports_bench .venv/bin/python bench/imports_bench.py

Data (generated once, server-side with INSERT … SELECT generate_series, and kept between
runs: the script detects it): 1,000,000 users, 100,000 of them at bench-import.test with
1–3 accounts each (5% unverified, 2% deactivated, 3% managed by another organization).
Each run undoes the previous run's import first, and vacuums the tables after each rolled-back
baseline, so every phase starts from the same tables (autovacuum may be off).

Figures per phase: rows/s, database queries (connection.execute_wrapper), peak memory
(ru_maxrss growth of the process, and tracemalloc peak for the CSV phases, which is the
Python-heap figure that must stay flat from 10,000 to 1,000,000 rows).

Baseline: the same membership inserts and account moves as two set-based statements
(INSERT … SELECT, UPDATE … FROM) inside a transaction that is rolled back. Being rolled back,
it skips the foreign-key checks PostgreSQL defers to COMMIT (one per membership and per moved
account); the same statements with those checks run are printed as a reference. A second
reference adds, still set-based and rolled back, what every committed import must also do: lock
the users it re-checks and write each row's result. It is the floor a chunked import could
approach, printed with its own ratio to the baseline.
Goals: report + import of 100,000 users < 60 s; import ≥ 0.5 of the baseline's throughput;
peak memory < 300 MB; CSV memory flat from 10k to 1M rows.
"""

import os
import resource
import sys
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/h_imports_bench")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from config.celery import prepare_worker_process  # noqa: E402
from console import clock  # noqa: E402
from console.models import Account, Membership, Organization, User  # noqa: E402
from domains.models import Domain  # noqa: E402
from imports import reports, services  # noqa: E402
from imports.models import ImportJob  # noqa: E402

TOTAL_USERS = int(os.environ.get("BENCH_USERS", "1000000"))
DOMAIN_USERS = int(os.environ.get("BENCH_DOMAIN_USERS", "100000"))
DOMAIN = "bench-import.test"
ORG_NAME = "Bench Import Org"
OTHER_ORG_NAME = "Bench Other Org"
CSV_LARGE = int(os.environ.get("BENCH_CSV_LARGE", "1000000"))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def measure(name: str, results: dict, *, rows_of=None, trace=False):
    counter = QueryCounter()
    rss_before = rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    box = {}
    with connection.execute_wrapper(counter):
        yield box
    elapsed = time.perf_counter() - started
    peak = None
    if trace:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rows = box.get("rows", 0)
    results[name] = {
        "seconds": elapsed,
        "rows": rows,
        "rows_per_s": rows / elapsed if elapsed else 0,
        "queries": counter.count,
        "rss_growth_mb": rss_mb() - rss_before,
        "rss_peak_mb": rss_mb(),
        "heap_peak_mb": peak / 1024 / 1024 if peak is not None else None,
    }


def ensure_schema():
    call_command("migrate", verbosity=0, interactive=False)


def ensure_data():
    """Generate the population once (detected on later runs)."""
    organization, _ = Organization.objects.get_or_create(name=ORG_NAME, defaults={"features": ["bulk_user_import"]})
    if not organization.has_feature("bulk_user_import"):
        organization.features = ["bulk_user_import"]
        organization.save()
    other, _ = Organization.objects.get_or_create(name=OTHER_ORG_NAME)
    admin, created = User.objects.get_or_create(
        email=f"bench-admin@{DOMAIN}", defaults={"email_verified": True, "password": "!"}
    )
    if created:
        Membership.objects.create(user=admin, organization=organization, role="owner", joined_via="created")
    domain = Domain.objects.filter(organization=organization, name=DOMAIN).first()
    if domain is None:
        domain = Domain.objects.create(
            organization=organization, name=DOMAIN, unicode_name=DOMAIN, status="verified", verified_at=clock.now()
        )
    have_domain = User.objects.filter(email_domain=DOMAIN).count()
    have_total = User.objects.count()
    if have_domain >= DOMAIN_USERS and have_total >= TOTAL_USERS:
        print(f"data present: {have_total:,} users, {have_domain:,} at {DOMAIN} (kept from an earlier run)")
        return organization, other, admin, domain
    print(f"generating {TOTAL_USERS:,} users ({DOMAIN_USERS:,} at {DOMAIN}) …", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor, transaction.atomic():
        # The domain's users: every 20th unverified, every 50th deactivated.
        cursor.execute(
            """
            INSERT INTO console_user (password, is_superuser, email, email_domain, full_name, email_verified,
                                      language, is_active, is_staff, date_joined, two_factor_enabled)
            SELECT '!', false, 'user' || g || '@' || %s, %s, '', g %% 20 <> 0,
                   CASE WHEN g %% 7 = 0 THEN 'ja' ELSE 'en' END, g %% 50 <> 0, false,
                   now() - (g || ' minutes')::interval, false
            FROM generate_series(1, %s) AS g
            """,
            [DOMAIN, DOMAIN, DOMAIN_USERS],
        )
        others = TOTAL_USERS - DOMAIN_USERS
        cursor.execute(
            """
            INSERT INTO console_user (password, is_superuser, email, email_domain, full_name, email_verified,
                                      language, is_active, is_staff, date_joined, two_factor_enabled)
            SELECT '!', false, 'user' || g || '@other' || (g %% 5000) || '.test', 'other' || (g %% 5000) || '.test',
                   '', true, 'en', true, false, now(), false
            FROM generate_series(1, %s) AS g
            """,
            [others],
        )
        # 1–3 accounts per domain user.
        cursor.execute(
            """
            INSERT INTO console_account (name, owner_id, organization_id, created_at)
            SELECT 'Account ' || u.id || '-' || n, u.id, NULL, now()
            FROM console_user u CROSS JOIN generate_series(1, 3) AS n
            WHERE u.email_domain = %s AND n <= 1 + u.id %% 3 AND u.email <> %s
            """,
            [DOMAIN, f"bench-admin@{DOMAIN}"],
        )
        # 3% managed by another organization.
        cursor.execute(
            """
            INSERT INTO console_membership (user_id, organization_id, role, joined_via, via_domain, joined_at)
            SELECT u.id, %s, 'member', 'invited', '', now()
            FROM console_user u
            WHERE u.email_domain = %s AND u.id %% 33 = 0 AND u.email <> %s
            """,
            [other.pk, DOMAIN, f"bench-admin@{DOMAIN}"],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)
    return organization, other, admin, domain


def undo_previous_import(organization):
    with transaction.atomic():
        Account.objects.filter(organization=organization).update(organization=None)
        Membership.objects.filter(organization=organization, joined_via="imported").delete()
        ImportJob.objects.filter(organization=organization).delete()
    vacuum()


def vacuum():
    """Every phase starts from the same tables: without this (autovacuum may be off here) the
    dead rows of a run, or of a rolled-back baseline just before, slow the next phase's writes and scans."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE console_account, console_membership, imports_importrow, imports_importjob")


def baseline(organization, domain, *, name="baseline (set-based SQL)", check_constraints=False, job=None) -> dict:
    """Set-based SQL: the same inserts and account moves, rolled back. With `check_constraints`,
    the foreign-key checks PostgreSQL defers to COMMIT are run before the rollback (a reference:
    every committed import pays them, the rolled-back baseline does not). With `job` (a built
    report), also the import's other writes: its users locked, every row's result written."""
    results = {}
    with measure(name, results) as box:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            try:
                if job is not None:
                    cursor.execute(
                        """
                        SELECT count(*) FROM (SELECT 1 FROM console_user WHERE id IN
                            (SELECT user_id FROM imports_importrow WHERE job_id = %s AND eligible)
                            FOR NO KEY UPDATE) locked
                        """,
                        [job.pk],
                    )
                cursor.execute(
                    """
                    INSERT INTO console_membership (user_id, organization_id, role, joined_via, via_domain, joined_at)
                    SELECT u.id, %s, 'member', 'imported', %s, now()
                    FROM console_user u
                    WHERE u.email_domain = %s AND u.is_active AND u.email_verified
                      AND NOT EXISTS (SELECT 1 FROM console_membership m WHERE m.user_id = u.id)
                    """,
                    [organization.pk, domain.name, domain.name],
                )
                box["rows"] = cursor.rowcount
                cursor.execute(
                    """
                    UPDATE console_account a SET organization_id = %s
                    FROM console_membership m
                    WHERE m.user_id = a.owner_id AND m.organization_id = %s AND m.joined_via = 'imported'
                      AND a.organization_id IS NULL
                    """,
                    [organization.pk, organization.pk],
                )
                if job is not None:
                    cursor.execute(
                        """
                        UPDATE imports_importrow
                        SET result = CASE WHEN eligible THEN 'imported' ELSE 'not_imported' END,
                            result_reason = reason, processed_at = now()
                        WHERE job_id = %s
                        """,
                        [job.pk],
                    )
                if check_constraints:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            finally:
                cursor.execute("ROLLBACK")
    return results


def report_baseline(organization, job_id: int) -> dict:
    """Hand-written set-based SQL for the report: ONE INSERT … SELECT of the rows with their
    eligibility reasons computed in SQL (rolled back), the figure the report is measured against."""
    results = {}
    with measure("report baseline (INSERT … SELECT)", results) as box:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            try:
                cursor.execute(
                    """
                    INSERT INTO imports_importrow (job_id, user_id, email, accounts_count, signed_up_at,
                        email_verified, reason, eligible, new_since_parent, selected, result, result_reason)
                    SELECT %s, u.id, u.email, COALESCE(a.n, 0), u.date_joined, u.email_verified, r.reason,
                           r.reason = '', false, false, 'pending', ''
                    FROM console_user u
                    LEFT JOIN console_membership m ON m.user_id = u.id
                    LEFT JOIN LATERAL (SELECT count(*) AS n FROM console_account WHERE owner_id = u.id) a ON true
                    CROSS JOIN LATERAL (SELECT CASE
                        WHEN m.organization_id IS NOT NULL THEN 'managed_elsewhere'
                        WHEN NOT u.is_active THEN 'deactivated'
                        WHEN NOT u.email_verified THEN 'email_not_verified'
                        ELSE '' END AS reason) r
                    WHERE u.email_domain = %s AND (m.organization_id IS NULL OR m.organization_id <> %s)
                    """,
                    [job_id, DOMAIN, organization.pk],
                )
                box["rows"] = cursor.rowcount
            finally:
                cursor.execute("ROLLBACK")
    return results


def copy_baseline(job, results: dict) -> None:
    """PostgreSQL writing the same rows as CSV with nothing of ours around it:
    COPY (SELECT the columns) TO STDOUT, consumed — what the CSV is measured against. The same
    columns include the accounts that will move (one aggregate per row); the bare table columns
    without it are measured too, for reference."""
    columns = (
        "r.email, u.full_name, r.accounts_count, r.signed_up_at, r.email_verified, r.eligible, "
        "r.reason, r.selected, r.notified_at, r.result, r.result_reason, r.processed_at"
    )
    moving = (
        "LEFT JOIN LATERAL (SELECT string_agg(a.name, '; ' ORDER BY a.name, a.id) AS names FROM console_account a "
        "WHERE a.owner_id = r.user_id AND a.organization_id IS NULL) moving ON TRUE "
    )
    variants = {
        f"csv baseline (COPY) {job.rows_total // 1000}k": (f"{columns}, moving.names", moving),
        f"csv baseline (COPY, no accounts) {job.rows_total // 1000}k": (columns, ""),
    }
    for name, (selected, join) in variants.items():
        with measure(name, results) as box:
            sql = (
                f"COPY (SELECT {selected} FROM imports_importrow r LEFT JOIN console_user u ON u.id = r.user_id "  # noqa: S608
                f"{join}WHERE r.job_id = %s ORDER BY r.id) TO STDOUT WITH (FORMAT csv)"
            )
            rows = 0
            with connection.cursor() as cursor, cursor.cursor.copy(sql, [job.pk]) as copy:
                for data in copy:
                    rows += bytes(data).count(b"\n")
            box["rows"] = rows


def make_csv_job(organization, domain, rows: int) -> ImportJob:
    """A report of `rows` ImportRows generated directly (for the CSV flatness measurement)."""
    job = ImportJob.objects.create(
        organization=organization, domain=domain, domain_name=domain.name, status="report_ready", rows_total=rows
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO imports_importrow (job_id, user_id, email, accounts_count, signed_up_at, email_verified,
                eligible, reason, new_since_parent, selected, result, result_reason)
            SELECT %s, NULL, CASE WHEN g %% 1000 = 0 THEN '=cmd' || g || '@x.test' ELSE 'row' || g || '@x.test' END,
                   g %% 3, now(), g %% 20 <> 0, g %% 20 <> 0, CASE WHEN g %% 20 = 0 THEN 'email_not_verified' ELSE '' END,
                   false, false, 'pending', ''
            FROM generate_series(1, %s) AS g
            """,
            [job.pk, rows],
        )
        # As a report's build does (imports.services.report): without it, the CSV's plan rests
        # on whatever the planner last counted, which with autovacuum off can be any earlier run.
        cursor.execute("ANALYZE imports_importrow")
    return job


def consume_csv(job) -> tuple[int, int]:
    """The CSV exactly as the download streams it (reports.csv_chunks)."""
    lines = byte_count = 0
    for chunk in reports.csv_chunks(job):
        lines += chunk.count(b"\n")
        byte_count += len(chunk)
    return lines - 1, byte_count


def main():
    if connection.vendor != "postgresql":
        sys.exit("run on PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_imports_bench")
    ensure_schema()
    organization, _other, admin, domain = ensure_data()
    undo_previous_import(organization)
    settings.IMPORT_CHUNK_SIZE = int(os.environ.get("BENCH_CHUNK", str(settings.IMPORT_CHUNK_SIZE)))
    results: dict = {}

    results.update(baseline(organization, domain))
    vacuum()
    results.update(baseline(organization, domain, name=CHECKED_BASELINE, check_constraints=True))
    vacuum()

    job = services.create_report_job(domain=domain, actor=admin, enqueue=False)
    results.update(report_baseline(organization, job.pk))
    vacuum()
    with measure("report", results) as box:
        services.build_report(job.pk)
        job.refresh_from_db()
        box["rows"] = job.rows_total
    print(f"report: {job.rows_total:,} rows, {job.rows_eligible:,} eligible", flush=True)
    results.update(baseline(organization, domain, name=FLOOR, check_constraints=True, job=job))
    vacuum()
    prepare_worker_process()  # the import runs here as in a worker's pool process

    with measure("import", results) as box:
        services.start_import(job=job, actor=admin, enqueue=False)
        services.run_import(job.pk)
        job.refresh_from_db()
        box["rows"] = job.rows_total
    imported_accounts = Account.objects.filter(organization=organization).count()
    print(
        f"import: {job.rows_imported:,} imported, {job.rows_not_imported:,} not imported, "
        f"{imported_accounts:,} accounts moved (chunk {settings.IMPORT_CHUNK_SIZE})",
        flush=True,
    )
    assert job.rows_imported + job.rows_not_imported == job.rows_total
    assert job.rows_imported == results["baseline (set-based SQL)"]["rows"], "import and baseline disagree"

    with measure(f"csv {job.rows_total // 1000}k (the report)", results, trace=True) as box:
        box["rows"], _bytes = consume_csv(job)

    if os.environ.get("BENCH_SKIP_CSV") == "1":
        results["csv 10k"] = results[f"csv {CSV_LARGE // 1000}k"] = None
    small = make_csv_job(organization, domain, 10_000) if results.get("csv 10k", 0) is not None else None
    if small is None:
        return print_results(results, job, 0)
    with measure("csv 10k", results, trace=True) as box:
        box["rows"], _bytes = consume_csv(small)
    large = make_csv_job(organization, domain, CSV_LARGE)
    with measure(f"csv {CSV_LARGE // 1000}k", results, trace=True) as box:
        box["rows"], large_bytes = consume_csv(large)
    copy_baseline(large, results)
    ImportJob.objects.filter(pk__in=[small.pk, large.pk]).delete()
    print_results(results, job, large_bytes)


CHECKED_BASELINE = "baseline + FK checks (reference)"
FLOOR = "+ user locks, row results (floor)"


def print_results(results, job, large_bytes):
    print()
    print(f"{'phase':32} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'queries':>8} {'RSS peak MB':>12} {'RSS +MB':>8} {'heap peak MB':>13}")
    for name, r in results.items():
        if r is None:
            continue
        heap = f"{r['heap_peak_mb']:.1f}" if r["heap_peak_mb"] is not None else "-"
        print(
            f"{name:32} {r['rows']:>10,} {r['seconds']:>9.2f} {r['rows_per_s']:>10,.0f} {r['queries']:>8,} "
            f"{r['rss_peak_mb']:>12.1f} {r['rss_growth_mb']:>8.1f} {heap:>13}"
        )
    base = results["baseline (set-based SQL)"]
    report, imp = results["report"], results["import"]
    print()
    print(f"report + import of {imp['rows']:,} users: {report['seconds'] + imp['seconds']:.1f} s (goal < 60 s)")
    report_base = results["report baseline (INSERT … SELECT)"]
    print(
        f"report vs baseline: {report['rows_per_s']:,.0f} / {report_base['rows_per_s']:,.0f} rows/s "
        f"= {report['rows_per_s'] / report_base['rows_per_s']:.2f} (goal ≥ 0.5); {report['seconds']:.2f} s (goal < 3 s)"
    )
    imported_per_s = job.rows_imported / imp["seconds"]
    print(
        f"import throughput vs baseline: {imported_per_s:,.0f} / {base['rows_per_s']:,.0f} imported users/s "
        f"= {imported_per_s / base['rows_per_s']:.2f} (goal ≥ 0.5)"
    )
    checked = results[CHECKED_BASELINE]
    print(
        f"  for reference, vs the same SQL with the foreign-key checks a commit runs: "
        f"{imported_per_s:,.0f} / {checked['rows_per_s']:,.0f} = {imported_per_s / checked['rows_per_s']:.2f}"
    )
    floor = results[FLOOR]
    floor_per_s = job.rows_imported / floor["seconds"]
    print(
        f"  the floor (set-based: FK checks, user locks, row results) is itself {floor_per_s / base['rows_per_s']:.2f} "
        f"of the baseline; the import vs the floor: {imported_per_s:,.0f} / {floor_per_s:,.0f} = {imported_per_s / floor_per_s:.2f}"
    )
    print(f"process peak memory: {rss_mb():.1f} MB (goal < 300 MB)")
    CSV_LARGE_KEY = f"csv {CSV_LARGE // 1000}k"  # noqa: N806
    small_r, large_r = results.get("csv 10k"), results.get(CSV_LARGE_KEY)
    if small_r is None:
        return
    copy_r = results[f"csv baseline (COPY) {CSV_LARGE // 1000}k"]
    bare_r = results[f"csv baseline (COPY, no accounts) {CSV_LARGE // 1000}k"]
    print(
        f"CSV vs COPY of the same columns: {large_r['rows_per_s']:,.0f} / {copy_r['rows_per_s']:,.0f} rows/s "
        f"= {large_r['rows_per_s'] / copy_r['rows_per_s']:.2f} (goal ≥ 0.25); vs COPY without the accounts column: "
        f"{large_r['rows_per_s'] / bare_r['rows_per_s']:.2f}"
    )
    print(
        f"CSV heap peak 10k → {CSV_LARGE // 1000}k rows: {small_r['heap_peak_mb']:.2f} → {large_r['heap_peak_mb']:.2f} MB "
        f"(ratio {large_r['heap_peak_mb'] / small_r['heap_peak_mb']:.2f}, flat ≈ 1; {large_bytes / 1e6:.0f} MB of CSV)"
    )


if __name__ == "__main__":
    main()
