from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = _("Organizations")

    def ready(self):
        from console import (
            receivers,  # noqa: F401  (connects the sign-in audit receivers)
            registration,  # noqa: F401  (registers its e-mails' link builders)
        )
