"""The composition root: settings, root URLs, health and metrics, the Celery app and the
commands that start or seed the whole product. It may import every app; no app imports it."""

# Load the Celery app when Django starts so @shared_task binds to it.
from .celery import app as celery_app

__all__ = ("celery_app",)
