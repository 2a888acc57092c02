"""Health and metrics for the web process. Part of the composition root: it reads every app."""

import hmac
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Min, Sum
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from config.observability import process_metrics_text
from console import clock
from console.models import TaskHeartbeat
from domains.models import CheckTally, Domain
from imports.models import ImportJob

# Tables that grow with time; /metrics reports the planner's estimate of their size (pg_class),
# which costs the same whatever their size.
GROWING_TABLES = ("domains_domaincheck", "imports_importrow", "console_auditevent")


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as error:  # noqa: BLE001  (report any failure as unhealthy)
        return False, error.__class__.__name__


def _broker_ok() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as error:  # noqa: BLE001
        return False, error.__class__.__name__


def _cache_ok() -> tuple[bool, str]:
    """Rate limits and sign-in throttles live in the cache: a write read back proves it works."""
    # A key of its own per probe: concurrent probes must not read each other's value.
    key = f"healthz:{secrets.token_hex(8)}"
    try:
        cache.set(key, "1", timeout=10)
        read_back = cache.get(key)
        cache.delete(key)
        return (True, "ok") if read_back == "1" else (False, "value not read back")
    except Exception as error:  # noqa: BLE001
        return False, error.__class__.__name__


@never_cache
@require_GET
def health(request):
    """200 when the database, the broker and the cache are reachable, else 503, with what failed."""
    database, database_detail = _database_ok()
    broker, broker_detail = _broker_ok()
    cache_up, cache_detail = _cache_ok()
    healthy = database and broker and cache_up
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": database_detail,
            "broker": broker_detail,
            "cache": cache_detail,
        },
        status=200 if healthy else 503,
    )


def scheduler_state() -> dict:
    """The last dispatcher run and the oldest overdue check, for staff and for metrics."""
    now = clock.now()
    beats = {beat.name: beat.last_run_at for beat in TaskHeartbeat.objects.all()}
    oldest_due = (
        Domain.objects.active().filter(next_check_at__lte=now).aggregate(oldest=Min("next_check_at"))["oldest"]
    )
    return {
        "now": now,
        "heartbeats": beats,
        "dispatcher_last_run": beats.get("dispatcher"),
        "oldest_overdue_check": oldest_due,
        "queue_lag_seconds": (now - oldest_due).total_seconds() if oldest_due else 0.0,
    }


def _metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if supplied and hmac.compare_digest(supplied, token):
            return True
    return bool(request.user.is_authenticated and request.user.is_staff)


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format. Staff session or `Authorization: Bearer $METRICS_TOKEN`."""
    if not _metrics_allowed(request):
        return HttpResponseForbidden("metrics need a staff session or the metrics token\n")
    lines: list[str] = []

    def family(name, kind, help_text, samples):
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
            lines.append(f"{name}{{{label_text}}} {value}" if label_text else f"{name} {value}")

    # Each query below costs the same however long the check and import history grows:
    # checks come from CheckTally (kept by triggers), domains are counted over the live ones only
    # (on the status index; removed records are history), import rows from each job's own counts.
    checks = CheckTally.objects.values("outcome").annotate(n=Sum("total")).order_by("outcome")
    family(
        "admin_center_domain_checks_total",
        "counter",
        "Domain checks recorded, by outcome.",
        [({"outcome": row["outcome"]}, row["n"]) for row in checks],
    )
    statuses = (
        Domain.objects.filter(status__in=Domain.CHECKED_STATUSES).values("status").annotate(n=Count("id")).order_by()
    )
    family(
        "admin_center_domains",
        "gauge",
        "Domains by status (removed domains, kept as records, are not counted).",
        [({"status": row["status"]}, row["n"]) for row in statuses],
    )
    rows = ImportJob.objects.aggregate(
        imported=Sum("rows_imported"),
        not_imported=Sum("rows_not_imported"),
        pending=Sum(F("rows_total") - F("rows_imported") - F("rows_not_imported")),
    )
    family(
        "admin_center_import_rows",
        "gauge",
        "Bulk import rows, by result (from each job's counts, which outlive the rows themselves).",
        [({"result": result}, rows[result] or 0) for result in ("imported", "not_imported", "pending")],
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, GREATEST(reltuples, 0)::bigint FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
                [list(GROWING_TABLES)],
            )
            estimates = sorted(cursor.fetchall())
        family(
            "admin_center_table_rows_estimate",
            "gauge",
            "Rows in the tables that grow with time, as estimated by PostgreSQL's statistics (not exact).",
            [({"table": table}, rows_estimate) for table, rows_estimate in estimates],
        )
    state = scheduler_state()
    family(
        "admin_center_check_queue_lag_seconds",
        "gauge",
        "Age of the oldest overdue domain check (0 when none is overdue).",
        [({}, f"{state['queue_lag_seconds']:.3f}")],
    )
    family(
        "admin_center_task_last_run_timestamp_seconds",
        "gauge",
        "When each periodic task last ran (Unix time).",
        [({"task": name}, f"{moment.timestamp():.3f}") for name, moment in sorted(state["heartbeats"].items())],
    )
    # Then this host's processes: HTTP latency and statuses, Celery task outcomes.
    body = "\n".join(lines) + "\n" + process_metrics_text()
    return HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")
