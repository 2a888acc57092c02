"""The composition root's commands: load_demo_data, and run_console end to end."""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from console.models import Account, Membership, Organization, User
from domains.models import Domain

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_load_demo_data_is_idempotent_and_prints_the_login():
    out = StringIO()
    call_command("load_demo_data", stdout=out)
    assert "owner@example.com / demo-password-123" in out.getvalue()
    counts = (User.objects.count(), Membership.objects.count(), Account.objects.count(), Domain.objects.count())
    call_command("load_demo_data", stdout=StringIO())
    assert counts == (User.objects.count(), Membership.objects.count(), Account.objects.count(), Domain.objects.count())

    corp = Organization.objects.get(name="Example Corp")
    assert User.objects.get(email="owner@example.com").check_password("demo-password-123")
    assert Domain.objects.get(organization=corp, name="example.com").status == "verified"
    outsiders = User.objects.filter(email_domain="example.com").exclude(membership__organization=corp)
    assert outsiders.count() == 20
    assert outsiders.filter(email_verified=False).count() >= 2
    assert outsiders.filter(is_active=False).count() == 1
    assert outsiders.filter(membership__isnull=False).count() == 1  # managed by the second demo organization


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.celery_worker
def test_run_console_runs_web_worker_and_beat_and_stops_them_all(tmp_path):
    """`run_console` on the embedded defaults (SQLite, filesystem broker): beat sends the
    heartbeat, the worker records it, the web answers; SIGTERM stops every child."""
    project = tmp_path / "project"
    shutil.copytree(
        REPOSITORY, project, ignore=shutil.ignore_patterns(".venv", "var", ".git", "__pycache__", "*.sqlite3")
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CELERY_BROKER_URL", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update({"HEARTBEAT_SECONDS": "1", "DEBUG": "1", "PYTHONUNBUFFERED": "1"})
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=project,
        env=environment,
        check=True,
        timeout=120,
    )
    port = _free_port()
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_console", "--port", str(port)],
        cwd=project,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        process_group=0,
    )
    database = project / "var" / "console.sqlite3"
    heartbeat_runs = 0
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            with sqlite3.connect(database, timeout=5) as connection:
                rows = connection.execute("SELECT runs FROM console_taskheartbeat WHERE name='heartbeat'").fetchall()
            heartbeat_runs = rows[0][0] if rows else 0
            if heartbeat_runs >= 2:
                break
            time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /sign-in/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            status_line = sock.recv(64)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    log.seek(0)
    output = log.read()
    assert heartbeat_runs >= 2, output[-3000:]
    assert b" 200 " in status_line
    assert f"Admin Center: http://127.0.0.1:{port}/" in output
    assert "owner@example.com / demo-password-123" in output
    for pid_line in [line for line in output.splitlines() if line.startswith("started ")]:
        pid = int(pid_line.split("(pid ", 1)[1].split(")", 1)[0])
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
