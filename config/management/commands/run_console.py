"""manage.py run_console — the web console, a Celery worker and Celery beat, together.

Used by `make run`. Signals are forwarded to every child; when any child exits, the others
are stopped and the command exits with that child's status.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from config.management.commands.load_demo_data import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Run the console web server, a Celery worker and Celery beat; Ctrl-C stops all three."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument("--web", choices=["runserver", "gunicorn"], default="runserver", help="web server to start")

    def handle(self, *args, host, port, concurrency, web, **options):
        python = sys.executable
        address = f"{host}:{port}"
        if web == "gunicorn":
            # Processes and threads as in production: gunicorn.conf.py.
            config = str(settings.BASE_DIR / "gunicorn.conf.py")
            web_command = [python, "-m", "gunicorn", "config.wsgi", "--config", config, "--bind", address]
        else:
            web_command = [python, "manage.py", "runserver", address, "--noreload"]
        # The filesystem broker works with a threads pool; prefork children would each poll the folder.
        pool = "threads" if settings.CELERY_BROKER_URL.startswith("filesystem://") else "prefork"
        commands = {
            "web": web_command,
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "default,checks,imports,webhooks",
                "-l",
                "info",
                "--concurrency",
                str(concurrency),
                "--pool",
                pool,
                "-n",
                "console@%h",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "-l",
                "info",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
        }
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        children: dict[str, subprocess.Popen] = {}
        for name, command in commands.items():
            # Own process group: a terminal's Ctrl-C reaches only this command, which forwards
            # it once (a second SIGINT would make the worker abandon running tasks).
            children[name] = subprocess.Popen(  # noqa: S603 (fixed argument lists, no shell)
                command, cwd=settings.BASE_DIR, env=environment, process_group=0
            )
            self.stdout.write(f"started {name} (pid {children[name].pid}): {' '.join(command)}")

        wildcard = host in ("0.0.0.0", "::")  # noqa: S104 (only to print a reachable URL)
        url = f"http://{'127.0.0.1' if wildcard else host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nAdmin Center: {url}"))
        self.stdout.write(f"Demo sign-in: owner@{settings.DEMO_DOMAIN} / {DEMO_PASSWORD}")
        self.stdout.write("Press Ctrl-C to stop the web server, the worker and beat.\n")
        self.stdout.flush()

        stopping = {"signal": None}

        def forward(signum, _frame):
            stopping["signal"] = signum
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signum)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)

        exit_code = 0
        try:
            while True:
                finished = [(name, child) for name, child in children.items() if child.poll() is not None]
                if finished:
                    name, child = finished[0]
                    exit_code = child.returncode or 0
                    if stopping["signal"] is None:
                        self.stderr.write(f"{name} exited with status {child.returncode}; stopping the others.")
                    break
                time.sleep(0.5)
        finally:
            self._stop_all(children, already_signalled=stopping["signal"] is not None)
        if stopping["signal"] is not None:
            exit_code = 0
        sys.exit(exit_code)

    def _stop_all(self, children, *, already_signalled: bool, grace_seconds: float = 10.0):
        # A forwarded signal already asked every child to stop; a second one would make the
        # worker abandon its running tasks, so only send SIGTERM when nobody asked yet.
        if not already_signalled:
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for child in children.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
