from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = _("Bulk User Import")

    def ready(self):
        # The services queue tasks by name (imports.enqueue) from web processes too, where the
        # worker's autodiscovery never runs: register them wherever the app is loaded.
        from imports import tasks  # noqa: F401
