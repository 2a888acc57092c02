from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = _("Bulk User Import")

    def ready(self):
        from imports.services import notices  # noqa: F401  (registers the notice e-mail's builder)
