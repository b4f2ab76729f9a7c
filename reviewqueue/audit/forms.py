from django import forms

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class EventFilterForm(forms.Form):
    """The filters of the event stream, its exports and its summaries (all optional, all GET)."""

    since = forms.DateTimeField(
        required=False, input_formats=DATETIME_FORMATS, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, input_formats=DATETIME_FORMATS, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    actor = forms.CharField(required=False, max_length=255, help_text="username, token or task name")
    action = forms.CharField(required=False, max_length=64, help_text="exact, or a prefix ending in a dot: draft.")
    mailbox = forms.CharField(required=False, max_length=128)
    conversation = forms.CharField(required=False, max_length=128)
    draft = forms.CharField(required=False, max_length=128)
    decision = forms.CharField(required=False, max_length=128)
    q = forms.CharField(required=False, max_length=200, label="Search reasons")
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("“since” must not be after “until”.")
        return cleaned


FILTER_FIELDS = ("since", "until", "actor", "action", "mailbox", "conversation", "draft", "decision", "q")
