from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = _("Single sign-on")

    def ready(self):
        from console.audit import ACTION_LABELS
        from console.signals import event_occurred
        from sso.receivers import event_occurred_receiver

        # A domain that lapses or is removed suspends its SSO enforcement and routing (audited).
        event_occurred.connect(event_occurred_receiver, dispatch_uid="sso.event_occurred")
        ACTION_LABELS.update(AUDIT_LABELS)


# What the sso app's audit actions mean, in words (the audit log reads them from console.audit).
AUDIT_LABELS = {
    "sso.configured": _("Single sign-on configured"),
    "sso.changed": _("Single sign-on settings changed"),
    "sso.removed": _("Single sign-on removed"),
    "sso.enforcement_changed": _("Single sign-on requirement changed for a domain"),
    "sso.enforcement_suspended": _("Single sign-on requirement suspended: the domain is no longer verified"),
    "sso.enforcement_resumed": _("Single sign-on requirement in force again: the domain is verified"),
    "sso.break_glass_owner_set": _("Break-glass Owner chosen"),
    "sso.break_glass_signin": _("Break-glass Owner signed in with a password"),
    "sso.password_refused": _("Password refused: single sign-on required"),
    "sso.signed_in": _("Signed in through single sign-on"),
    "sso.signin_refused": _("Single sign-on refused"),
    "sso.user_provisioned": _("User created at first single sign-on"),
}
