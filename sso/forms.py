from django import forms
from django.utils.translation import gettext_lazy as _

from console.forms import validate_stored_email_length
from sso.saml import MAX_METADATA_BYTES


def jit_provisioning_field() -> forms.BooleanField:
    """The same setting on either protocol's form."""
    return forms.BooleanField(
        label=_("Create users at their first sign-in (just-in-time provisioning)"),
        required=False,
        help_text=_(
            "People at your verified domains who sign in through the identity provider for the first time "
            "become managed users of this organization, as Members."
        ),
    )


class ProviderForm(forms.Form):
    issuer = forms.URLField(
        label=_("Issuer URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("For example https://your-company.okta.com or https://login.microsoftonline.com/your-tenant-id/v2.0"),
    )
    client_id = forms.CharField(label=_("Client ID"), max_length=255)
    client_secret = forms.CharField(
        label=_("Client secret"),
        max_length=1000,
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    jit_provisioning = jit_provisioning_field()

    def clean_issuer(self):
        issuer = self.cleaned_data["issuer"].strip()
        if not issuer.lower().startswith("https://"):
            raise forms.ValidationError(_("The issuer must be an https:// address."))
        return issuer


class SamlProviderForm(forms.Form):
    metadata_url = forms.URLField(
        label=_("Metadata URL"),
        max_length=1000,
        required=False,
        assume_scheme="https",
        help_text=_("The identity provider's SAML metadata address, for example https://your-company.okta.com/app/…/sso/saml/metadata"),
    )
    metadata_file = forms.FileField(
        label=_("Or upload the metadata XML file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".xml,application/xml,text/xml,application/samlmetadata+xml"}),
    )
    jit_provisioning = jit_provisioning_field()

    def clean_metadata_url(self):
        url = self.cleaned_data["metadata_url"].strip()
        if url and not url.lower().startswith("https://"):
            raise forms.ValidationError(_("The metadata URL must be an https:// address."))
        return url

    def clean_metadata_file(self):
        upload = self.cleaned_data.get("metadata_file")
        if not upload:
            return None
        if upload.size > MAX_METADATA_BYTES:
            raise forms.ValidationError(_("The metadata document is too large (at most 1 MB)."))
        return upload.read()

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("metadata_url") and cleaned.get("metadata_file") is None:
            raise forms.ValidationError(_("Enter the metadata URL or upload the metadata file."))
        return cleaned


class DiscoveryForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), validators=[validate_stored_email_length])


class BreakGlassForm(forms.Form):
    owner = forms.TypedChoiceField(label=_("Owner who keeps password sign-in"), coerce=int)

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(user.pk, user.email) for user in owners]
