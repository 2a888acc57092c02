"""gunicorn.conf.py is the one source of the web processes and threads: every way of serving
the console reads it, and none sets its own."""

import runpy
from pathlib import Path

from django.conf import settings

from config.management.commands import run_console

CONFIG = Path(settings.BASE_DIR) / "gunicorn.conf.py"


def test_processes_and_threads_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("WEB_THREADS", "2")
    values = runpy.run_path(str(CONFIG))
    assert (values["workers"], values["threads"], values["worker_class"]) == (5, 2, "gthread")
    monkeypatch.delenv("WEB_CONCURRENCY")
    monkeypatch.delenv("WEB_THREADS")
    values = runpy.run_path(str(CONFIG))
    assert (values["workers"], values["threads"]) == (3, 8)


def test_every_gunicorn_command_reads_the_config_and_sets_no_workers_of_its_own():
    root = Path(settings.BASE_DIR)
    procfile_web = next(line for line in (root / "Procfile").read_text().splitlines() if line.startswith("web:"))
    sources = {
        "Procfile": procfile_web,
        "run_console": Path(run_console.__file__).read_text(),
        "load_bench": (root / "bench" / "load_bench.py").read_text(),
    }
    for name, text in sources.items():
        assert "gunicorn.conf.py" in text, name
        for option in ("--workers", "--threads", '"-w"', '"-k"', " -w ", " -k "):
            assert option not in text, (name, option)


def test_database_connections_persist_and_are_checked_before_reuse():
    database = settings.DATABASES["default"]
    assert database["CONN_MAX_AGE"] > 0
    assert database["CONN_HEALTH_CHECKS"] is True
