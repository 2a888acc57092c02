"""A web process (not a worker) knows every task the services queue by name (config imports each
app's tasks module when the apps are ready)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_process_that_only_set_up_django_knows_the_import_tasks():
    # A fresh interpreter: in the test process some test module may already have imported them.
    code = (
        "import django; django.setup()\n"
        "from celery import current_app\n"
        "from console import registration\n"
        "from imports import enqueue\n"
        "names = (enqueue.BUILD_REPORT, enqueue.RUN_IMPORT, enqueue.SEND_NOTICES, registration.RESET_LINK_TASK)\n"
        "missing = [n for n in names if n not in current_app.tasks]\n"
        "print(missing)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
