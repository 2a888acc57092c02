from django import forms
from django.utils.translation import gettext_lazy as _

_CODE_WIDGET = forms.TextInput(
    attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off", "spellcheck": "false"}
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
        widget=_CODE_WIDGET,
    )


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SecurityKeyForm(forms.Form):
    name = forms.CharField(label=_("Name of the key"), max_length=100, help_text=_("e.g. 'YubiKey' or 'Laptop passkey'."))
    # Filled in by the page's script with the browser's answer (WebAuthn JSON).
    credential = forms.CharField(widget=forms.HiddenInput, max_length=20000)


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class PolicyForm(forms.Form):
    required_for_admins = forms.BooleanField(
        label=_("Require two-factor authentication for Owners and Administrators"), required=False
    )
    required_for_all = forms.BooleanField(label=_("Require two-factor authentication for all managed users"), required=False)
