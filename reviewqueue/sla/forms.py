from django import forms

from reviewqueue.sla.durations import BadDuration, format_duration, parse_optional_duration
from reviewqueue.sla.models import MailboxPolicy
from reviewqueue.sla.policy import UNSET, PolicyChanges

DURATION_HELP = "90s, 30m, 4h or 2d; off for none"


class DurationField(forms.CharField):
    def clean(self, value):
        text = super().clean(value)
        try:
            return parse_optional_duration(text)
        except BadDuration as error:
            raise forms.ValidationError(str(error)) from None


class MailboxPolicyForm(forms.Form):
    target = DurationField(required=False, max_length=16, label="Decision target", help_text=DURATION_HELP)
    expiry = DurationField(required=False, max_length=16, label="Expiry", help_text=DURATION_HELP)
    approvals_required = forms.TypedChoiceField(
        choices=MailboxPolicy.APPROVALS_CHOICES, coerce=int, label="Approvals required"
    )
    slack_webhook = forms.CharField(
        required=False,
        max_length=500,
        label="Slack incoming-webhook URL",
        help_text="https only; leave empty to keep the current one",
    )
    remove_slack = forms.TypedChoiceField(
        required=False,
        choices=[("", "keep it (or replace it with the URL above)"), ("1", "remove it")],
        coerce=lambda value: value == "1",
        empty_value=False,
        label="The current Slack webhook",
    )
    notify_emails = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Notify by email",
        help_text="addresses, separated by commas or new lines",
    )

    @classmethod
    def for_policy(cls, policy: MailboxPolicy) -> "MailboxPolicyForm":
        return cls(
            initial={
                "target": format_duration(policy.target),
                "expiry": format_duration(policy.expiry),
                "approvals_required": policy.approvals_required,
                "notify_emails": ", ".join(policy.notify_emails or []),
            }
        )

    def changes(self) -> PolicyChanges:
        data = self.cleaned_data
        slack = UNSET
        if data["remove_slack"]:
            slack = ""
        elif data["slack_webhook"].strip():
            slack = data["slack_webhook"].strip()
        emails = [part.strip() for part in data["notify_emails"].replace("\n", ",").split(",") if part.strip()]
        return PolicyChanges(
            target=data["target"],
            expiry=data["expiry"],
            approvals_required=data["approvals_required"],
            slack_webhook_url=slack,
            notify_emails=emails,
        )
