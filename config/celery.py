"""The one Celery app. Configuration comes from Django settings under the CELERY_ prefix."""

import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("admin_center")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect(dispatch_uid="config.prepare_worker_process")
def prepare_worker_process(**_signal) -> None:
    """A pool process starts with Django and every app loaded, objects that live as long as it
    does: frozen, the cyclic collector stops rescanning them on each full collection (about a sixth of
    an import chunk's Python time went there)."""
    gc.freeze()
