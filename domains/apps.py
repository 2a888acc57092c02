from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DomainsConfig(AppConfig):
    name = "domains"
    verbose_name = _("Domains")

    def ready(self):
        from console.signals import email_verified
        from domains import notifications  # noqa: F401  (registers the domain e-mails' builders)
        from domains.members import auto_add

        # A user who verifies an address at a domain set to add new users joins its organization.
        email_verified.connect(auto_add, dispatch_uid="domains.auto_add")
