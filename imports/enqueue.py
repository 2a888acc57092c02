"""How the Bulk User Import services queue background work: by task name, once the surrounding
transaction commits. The tasks call the services; the services never import the tasks, so
there is no import cycle between them."""

from celery import current_app
from django.db import transaction

BUILD_REPORT = "imports.build_report"
RUN_IMPORT = "imports.run_import"
SEND_NOTICES = "imports.send_notices"


def on_commit(task_name: str, *args) -> None:
    """Queue `task_name(*args)` if and when the transaction commits. The task is looked up in
    the Celery app's registry (filled by autodiscovery), so eager mode and routing apply."""
    transaction.on_commit(lambda: current_app.tasks[task_name].delay(*args))
