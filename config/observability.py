"""Process metrics (prometheus_client) and error tracking (sentry-sdk). Part of the composition root.

HTTP request latency and responses by status come from django-prometheus' middleware; Celery
task outcomes from the signals below. Under gunicorn or Celery's prefork pool every process
counts on its own: with PROMETHEUS_MULTIPROC_DIR set (the same directory for the web and worker
processes of one host, emptied before they start) each process writes its samples there and
/metrics adds them up (prometheus_client's multiprocess mode).
"""

import os

import prometheus_client
from celery.signals import task_failure, task_retry, task_success
from prometheus_client import Counter, multiprocess

# Counters only, no "_created" series beside each: half the lines, nothing lost for Prometheus.
prometheus_client.disable_created_metrics()

TASK_OUTCOMES = Counter(
    "admin_center_celery_tasks",
    "Celery tasks finished, by task name and outcome (succeeded, retried, failed).",
    ["task", "outcome"],
)


def _task_name(sender) -> str:
    return getattr(sender, "name", None) or str(sender)


def _succeeded(sender=None, **kwargs):
    TASK_OUTCOMES.labels(task=_task_name(sender), outcome="succeeded").inc()


def _retried(sender=None, **kwargs):
    TASK_OUTCOMES.labels(task=_task_name(sender), outcome="retried").inc()


def _failed(sender=None, **kwargs):
    TASK_OUTCOMES.labels(task=_task_name(sender), outcome="failed").inc()


def connect_task_signals() -> None:
    # dispatch_uid: connecting twice (tests, autoreload) must not count twice.
    task_success.connect(_succeeded, dispatch_uid="admin_center_task_succeeded", weak=False)
    task_retry.connect(_retried, dispatch_uid="admin_center_task_retried", weak=False)
    task_failure.connect(_failed, dispatch_uid="admin_center_task_failed", weak=False)


def process_metrics_text() -> str:
    """Every process's samples (multiprocess mode) or this process's, in the text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.REGISTRY
    return prometheus_client.generate_latest(registry).decode()


def init_sentry(dsn: str, *, environment: str, release: str, traces_sample_rate: float) -> bool:
    """Report unhandled exceptions of the web and worker processes to Sentry; no DSN, no change."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,  # e-mail addresses are our users' data, not debugging context
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
    return True
