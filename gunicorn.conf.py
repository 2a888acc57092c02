"""gunicorn's settings for every way the console is served (Procfile, `manage.py run_console --web
gunicorn`, bench/load_bench.py), so a benchmark measures what production runs. gunicorn reads this
file from the working directory; the command line adds only the address (and the Procfile's access log).

WEB_CONCURRENCY processes (gunicorn's own variable) of WEB_THREADS threads each: a page waits on
PostgreSQL and Redis for part of its time, which other threads of the process use. With
PROMETHEUS_MULTIPROC_DIR set, each worker writes its metrics there; a worker that exits is marked
dead so its live gauges go.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("WEB_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "30"))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
