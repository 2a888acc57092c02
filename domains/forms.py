from django import forms
from django.utils.translation import gettext_lazy as _

from domains.models import Domain


class AddDomainForm(forms.Form):
    # Normalisation and the name rules are domains.normalize's; the form only bounds input.
    domain = forms.CharField(
        label=_("Domain"),
        max_length=1000,
        strip=False,
        help_text=_(
            "For example example.com. You can paste a web address or an e-mail address; we keep only the domain."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autofocus": True}),
        error_messages={"required": _("Enter a domain, for example example.com.")},
    )


class MethodForm(forms.Form):
    method = forms.ChoiceField(choices=Domain.Method.choices, label=_("Verification method"))


class DomainSettingsForm(forms.Form):
    auto_add_new_users = forms.BooleanField(
        required=False,
        label=_("Automatically add new users who sign up with this domain"),
        help_text=_("You can turn it off at any time; users added before stay in the organization."),
    )
