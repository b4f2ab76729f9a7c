from django import forms

from reviewqueue.digests.models import DigestPreference
from reviewqueue.digests.schedule import zone


class DigestPreferenceForm(forms.Form):
    frequency = forms.ChoiceField(choices=DigestPreference.Frequency.choices, label="Email digest")
    send_at = forms.TimeField(label="At (your time)", help_text="daily: the time of day; hourly: its minute")
    timezone = forms.CharField(max_length=64, label="Your timezone", help_text="e.g. Europe/Berlin, America/New_York")
    mailbox_ids = forms.MultipleChoiceField(
        required=False, label="Mailboxes", help_text="none ticked: every mailbox", widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, mailboxes: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mailbox_ids"].choices = mailboxes

    def clean_timezone(self) -> str:
        name = self.cleaned_data["timezone"].strip()
        try:
            zone(name)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        return name
