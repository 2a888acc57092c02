from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import Scope


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses the token, for example “Terraform” or “CI pipeline”."),
        error_messages={"required": _("Give the token a name, for example the pipeline that uses it.")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Give only what the token needs."),
        error_messages={"required": _("Choose at least one scope.")},
    )
    expires_on = forms.DateField(
        label=_("Expires (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The token stops working at the end of this day (UTC). Leave empty for no expiry."),
    )
