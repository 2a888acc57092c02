"""Celery task outcomes from a real prefork worker (two child processes) reach one sum through
prometheus_client's multiprocess mode, as /metrics on the same host reads them."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from config.observability import process_metrics_text
from config.tests.test_metrics import _sample
from tests.support.missing import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


@pytest.mark.django_db(transaction=True)
def test_prefork_children_count_into_one_sum(tmp_path, monkeypatch):
    redis_url = os.environ.get("REDIS_URL", "")
    if connection.vendor != "postgresql" or not redis_url:
        skip_or_fail("the prefork metrics test needs DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    queue = f"metrics-test-{secrets.token_hex(4)}"  # nobody else's tasks, and ours go nowhere else
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "DEBUG": "0",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "prefork", "-c", "2", "-Q", queue,
         "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)  # Celery lets this variable win over broker=
    producer = Celery(broker=redis_url, set_as_current=False)  # the project app stays current for later tests
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))  # read the worker's samples here
    try:
        for _ in range(20):
            producer.send_task("console.heartbeat", queue=queue)
        for _ in range(3):  # a claim that cannot be read: the task fails
            producer.send_task("domains.check_batch", args=[[["not-a-domain-id", "x"]]], queue=queue)

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            text = process_metrics_text()
            succeeded = _sample(text, "admin_center_celery_tasks_total", task="console.heartbeat", outcome="succeeded")
            failed = _sample(text, "admin_center_celery_tasks_total", task="domains.check_batch", outcome="failed")
            if succeeded >= 20 and failed >= 3:
                break
            time.sleep(0.5)
        assert (succeeded, failed) == (20, 3), worker.stderr.read1().decode() if worker.poll() is not None else ""
        pids = {path.name.rsplit("_", 1)[1] for path in metrics_dir.glob("counter_*.db")}
        assert len(pids) >= 2, f"both children should have counted tasks, saw files of {pids}"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        producer.close()
