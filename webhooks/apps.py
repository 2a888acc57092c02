from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Signed events for an organization's own tools, delivered from an outbox."""

    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from console.signals import event_occurred
        from webhooks import outbox, tasks  # noqa: F401  (the tasks register with Celery)

        # Synchronous, inside the state change's transaction: the outbox rows commit with it.
        event_occurred.connect(outbox.record_event, dispatch_uid="webhooks.record_event")
