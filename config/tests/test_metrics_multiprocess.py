"""/metrics under gunicorn with two workers adds up what every worker counted (multiprocess mode)."""

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.db import connection

from config.tests.test_metrics import _sample

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "multiprocess-metrics-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_report_one_sum(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn's workers need a database server they can share (DATABASE_URL=postgres://...)")
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    database = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
        "DEBUG": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{base}/healthz", timeout=20).status_code:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        # Enough concurrent requests that both workers answer some.
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: requests.get(f"{base}/healthz", timeout=30).status_code, range(60)))
        assert statuses == [200] * 60
        pids = {path.name.rsplit("_", 1)[1] for path in metrics_dir.glob("counter_*.db")}
        assert len(pids) == 2, f"both workers should have counted requests, saw files of {pids}"

        # Whichever worker answers, the sum is the same: every /healthz so far, the warm-up included.
        totals = set()
        for _ in range(6):
            text = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
            totals.add(_sample(text, "django_http_responses_total_by_status_view_method_total",
                               status="200", view="health", method="GET"))
        assert len(totals) == 1 and totals.pop() >= 61
        assert "admin_center_domain_checks_total" in text
    finally:
        server.terminate()
        server.wait(timeout=30)
