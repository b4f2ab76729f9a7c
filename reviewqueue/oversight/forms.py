from datetime import timedelta

from django import forms

from reviewqueue.oversight.selectors import Selection, default_selection

MAX_RANGE_DAYS = 400


class EvidenceFilterForm(forms.Form):
    """Time range (UTC days, both included), mailbox and kind; all optional (default: the last 12 weeks)."""

    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    mailbox = forms.CharField(required=False, max_length=128)
    kind = forms.CharField(required=False, max_length=64)

    def clean(self):
        cleaned = super().clean()
        default = default_selection()
        since, until = cleaned.get("since") or None, cleaned.get("until") or default.until
        since = since or until - (default.until - default.since)
        if since > until:
            raise forms.ValidationError("“since” must not be after “until”.")
        if until - since > timedelta(days=MAX_RANGE_DAYS):
            raise forms.ValidationError(f"The range may span at most {MAX_RANGE_DAYS} days.")
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def selection(self) -> Selection:
        data = self.cleaned_data
        return Selection(since=data["since"], until=data["until"], mailbox_id=data.get("mailbox") or "",
                         kind=data.get("kind") or "")  # fmt: skip


class ReadinessPolicyForm(forms.Form):
    min_decisions = forms.IntegerField(min_value=0, max_value=1_000_000, label="Decisions at least")
    min_days = forms.IntegerField(min_value=0, max_value=3650, label="Days since the first decision at least")
    unedited_share = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, label="Approved unedited, % at least"
    )
    recent_days = forms.IntegerField(min_value=1, max_value=365, label="Recent window, days")
    blocking_reasons = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Safety or policy reasons (one a line)",
        help_text="a rejection with one of these reasons, or naming safety, policy, legal or compliance, blocks",
    )
    require_verified_audit = forms.BooleanField(required=False, label="The last verify_audit run is clean")

    def clean_blocking_reasons(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["blocking_reasons"].splitlines()]
        return [line[:200] for line in lines if line]


class SpotCheckPolicyForm(forms.Form):
    """A mailbox's spot-check settings; shares are entered as percentages and stored as fractions."""

    mailbox = forms.CharField(max_length=128)
    sample_percent = forms.DecimalField(min_value=0, max_value=100, decimal_places=1, label="Sample, % of sent emails")
    daily_minimum = forms.IntegerField(min_value=0, max_value=10_000, label="Spot checks a day at least")
    threshold_percent = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=1, label="Tighten above this “would reject” share, %"
    )
    window = forms.IntegerField(min_value=1, max_value=10_000, label="Over the last N spot checks")

    def changes(self) -> dict:
        data = self.cleaned_data
        return {"sample_rate": data["sample_percent"] / 100, "daily_minimum": data["daily_minimum"],
                "reject_share": data["threshold_percent"] / 100, "window": data["window"]}  # fmt: skip


def form_errors_named(form) -> str:
    """Each error with the field it is about (`sample_percent: Ensure this value is less than …`)."""
    return "; ".join(f"{field}: {message}" for field, errors in form.errors.items() for message in errors)


MAX_EMAIL_BYTES = 5 * 1024 * 1024


class SentCheckForm(forms.Form):
    """An email as a .eml file, or its headers and body pasted (one of the two)."""

    eml = forms.FileField(required=False, label="Upload a .eml file")
    pasted = forms.CharField(
        required=False,
        max_length=MAX_EMAIL_BYTES,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        label="Or paste the headers and body",
        help_text="all the headers (the email client's \u201cshow original\u201d), an empty line, then the body",
    )

    def clean(self):
        cleaned = super().clean()
        upload, pasted = cleaned.get("eml"), (cleaned.get("pasted") or "").strip()
        if not upload and not pasted:
            raise forms.ValidationError("Upload a .eml file or paste the email.")
        if upload and upload.size > MAX_EMAIL_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        return cleaned

    def raw_email(self) -> bytes:
        upload = self.cleaned_data.get("eml")
        if upload:
            return upload.read()
        return self.cleaned_data["pasted"].strip().replace("\r\n", "\n").encode("utf-8")


class UpgradeRequestForm(forms.Form):
    mailbox = forms.CharField(max_length=128)
    target_mode = forms.ChoiceField(choices=[("monitored", "monitored"), ("autonomous", "autonomous")])
    justification = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class UpgradeRedeemForm(forms.Form):
    mailbox = forms.CharField(max_length=128)
    code = forms.CharField(max_length=32, label="Code from MultiMail's email to the operator")
