"""How services queue background work: by task name, once the surrounding transaction commits.

Tasks call services; services never import a tasks module (which imports the services), so
there is no import cycle. The task is looked up in the Celery app's registry (filled by
autodiscovery), so eager mode in tests and the queue routing apply as for `.delay()`.
"""

from celery import current_app
from django.db import transaction


def on_commit(task_name: str, *args) -> None:
    """Queue `task_name(*args)` if and when the transaction commits (never for a rollback)."""
    transaction.on_commit(lambda: current_app.tasks[task_name].delay(*args))
