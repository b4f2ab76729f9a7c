from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from reviewqueue.accounts.models import ApiTokenPolicy
from reviewqueue.accounts.roles import ROLES
from reviewqueue.routing.models import OversightMode
from reviewqueue.routing.rules import kinds_clean


class MailboxProvisionForm(forms.Form):
    address_local = forms.RegexField(
        regex=r"^[A-Za-z0-9._+-]{1,64}(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?$",
        max_length=320,
        label="Address",
        help_text="the local part (e.g. support) or a full address on a verified custom domain",
        error_messages={"invalid": "use letters, digits, '.', '_', '+' or '-' (optionally @ a custom domain)"},
    )
    display_name = forms.CharField(max_length=200, required=False)
    approval_code = forms.CharField(
        max_length=16, required=False, help_text="the code MultiMail emailed to the operator, when it asked for one"
    )


class MailboxRenameForm(forms.Form):
    display_name = forms.CharField(max_length=200)


class MailboxOversightForm(forms.Form):
    oversight_mode = forms.ChoiceField(choices=OversightMode.choices)


class PersonCreateForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]{1,150}$", max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="optional: without one, the person cannot log in until a password is set",
    )
    roles = forms.MultipleChoiceField(
        choices=[(r, r) for r in ROLES], required=False, widget=forms.CheckboxSelectMultiple
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("a person with this username already exists")
        return username

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            user = get_user_model()(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES])
    grant = forms.TypedChoiceField(choices=[("1", "grant"), ("0", "revoke")], coerce=lambda v: v == "1")


class IntakeTokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    kinds = forms.CharField(
        max_length=1000,
        required=False,
        help_text="the kinds of draft this agent may submit, comma-separated (e.g. refund, shipping); "
        "drafts without a kind are always allowed, any other kind is refused",
    )

    def clean_kinds(self) -> list[str]:
        try:
            return kinds_clean(self.cleaned_data["kinds"].split(","))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error


class TokenPolicyForm(forms.Form):
    max_days = forms.IntegerField(
        min_value=1,
        max_value=ApiTokenPolicy.LIMIT_DAYS,
        label="Longest lifetime of a personal API token (days)",
        help_text="owners choose up to this when they issue one; tokens already issued keep their expiry",
    )
