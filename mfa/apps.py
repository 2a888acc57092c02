from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = _("Two-factor authentication")

    def ready(self):
        from mfa import receivers  # noqa: F401  (marks password sign-ins that still owe a second factor)
