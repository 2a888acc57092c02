from django import forms
from django.utils.translation import gettext_lazy as _

from console import events

# What each event type means, in words (the type itself stays a code in payloads).
EVENT_LABELS = {
    events.DOMAIN_ADDED: _("A domain was added"),
    events.DOMAIN_VERIFIED: _("A domain was verified"),
    events.DOMAIN_CHECK_FAILED: _("A domain's check failed: it needs re-validation"),
    events.DOMAIN_REMINDER: _("A re-validation reminder was sent"),
    events.DOMAIN_REVALIDATED: _("A domain was verified again"),
    events.DOMAIN_EXPIRED: _("A domain expired and its users were removed"),
    events.DOMAIN_DELETED: _("A domain was deleted"),
    events.MEMBER_ADDED: _("A user joined the organization"),
    events.MEMBER_REMOVED: _("A user was removed from the organization"),
    events.IMPORT_REPORT_READY: _("An import report is ready"),
    events.IMPORT_COMPLETED: _("An import finished"),
    events.API_TOKEN_CREATED: _("An API token was created"),
    events.API_TOKEN_REVOKED: _("An API token was revoked"),
}


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=2000,
        help_text=_("An https:// address on the public Internet that accepts POST requests."),
        error_messages={"required": _("Enter the https:// address that should receive the events.")},
    )
    description = forms.CharField(label=_("Description (optional)"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(code, label) for code, label in EVENT_LABELS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Leave all unticked to receive every event, including those added later."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
