from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The public REST API (/api/v1) and the console's API tokens page."""

    name = "api"
    verbose_name = _("API")

    def ready(self):
        from api import schema, tasks  # noqa: F401  (the token scheme for the schema; the beat task)
