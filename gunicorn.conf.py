"""gunicorn reads this file from the working directory. With PROMETHEUS_MULTIPROC_DIR set, each
worker writes its metrics there; a worker that exits is marked dead so its live gauges go."""

import os


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
