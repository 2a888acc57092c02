"""How services queue background work: by task name, once the surrounding transaction commits.

Tasks call services; services never import a tasks module (which imports the services), so
there is no import cycle. The task is looked up in the Celery app's registry (filled by
autodiscovery), so eager mode in tests and the queue routing apply as for `.delay()`.
"""

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def on_commit(task_name: str, *args, inline: bool = False, recoverable: bool = False) -> None:
    """Queue `task_name(*args)` if and when the transaction commits (never for a rollback).

    inline: run the task in this process instead (tests). recoverable: the work is recorded
    and a sweep requeues it, so a broker that refuses the message is logged, not raised into
    the request that already committed."""

    def send():
        task = current_app.tasks[task_name]
        if inline:
            task.apply(args=args)
            return
        try:
            task.delay(*args)
        except Exception:
            if not recoverable:
                raise
            logger.warning("could not queue %s now; the sweep will queue it again", task_name, exc_info=True)

    transaction.on_commit(send)
