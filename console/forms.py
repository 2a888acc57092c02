"""Forms for the Admin Center and the public sign-up. Validation of shape only: the rules
(who may be added, the last Owner) live in the services."""

from django import forms
from django.contrib.auth import password_validation
from django.core import validators
from django.utils.translation import gettext_lazy as _

from console import audit
from console.models import AuditEvent, Membership, User, normalise_email

# The column's length: a longer address passes EmailField's own checks (up to 320 characters)
# and would reach the database, which refuses it (PostgreSQL) with a server error.
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


def validate_stored_email_length(value: str) -> None:
    """The address as stored (domain part in punycode, which can be longer) fits the column."""
    validators.MaxLengthValidator(EMAIL_MAX_LENGTH)(normalise_email(value))


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        validators=[validate_stored_email_length],
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password (again)"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords do not match."))
        elif password1:
            # Validate against an unsaved user so the outcome never depends on whether the
            # address is already taken (sign-up must not reveal that).
            candidate = User(email=cleaned.get("email") or "", full_name=cleaned.get("full_name") or "")
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        validators=[validate_stored_email_length],
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class AddUserForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), validators=[validate_stored_email_length])
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, widget=forms.TextInput(attrs={"type": "search"}))
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All roles")), *Membership.Role.choices])


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, widget=forms.TextInput(attrs={"type": "search"}))


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor_kind = forms.ChoiceField(
        label=_("Actor"), required=False, choices=[("", _("Anyone")), *AuditEvent.ActorKind.choices]
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actions: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        # Actions in words (the code is what is filtered on).
        self.fields["action"].choices = [("", _("All actions")), *[(action, audit.describe(action)) for action in actions]]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_from"] > cleaned["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
