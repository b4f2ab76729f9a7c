"""Forms of the review pages: they validate what a person sent before a service is called."""

from urllib.parse import urlencode

from django import forms
from django.core.cache import cache

from reviewqueue.review import selectors
from reviewqueue.review.reasons import PRESET_REJECT_REASONS

MAILBOX_CHOICES_KEY = "review:queue-mailbox-choices"
MAILBOX_CHOICES_SECONDS = 30

FLAG_LABELS = {
    "customer_replied": "Customer replied after the draft",
    "recipient_not_contact": "Recipient not a contact",
    "spam": "Spam verdict not clean",
    "attachments": "Has attachments",
    "unknown_links": "Links to unseen domains",
    "edit_mismatch": "Not the edit that was approved",
}


class FormErrorsMixin:
    def error_text(self) -> str:
        return " ".join(str(message) for errors in self.errors.values() for message in errors)


class QueueFilterForm(FormErrorsMixin, forms.Form):
    mailbox = forms.CharField(required=False, max_length=128)
    flag = forms.ChoiceField(required=False, choices=[("", "Any"), *FLAG_LABELS.items()])
    mine = forms.BooleanField(required=False, label="Claimed by me")
    overdue = forms.BooleanField(required=False, label="Overdue")  # past the mailbox's decision target (sla)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def filters(self) -> selectors.QueueFilters:
        data = self.cleaned_data
        return selectors.QueueFilters(
            mailbox_id=data["mailbox"], flag=data["flag"], claimed_by_me=data["mine"], overdue=data["overdue"]
        )

    def query_string(self, **overrides) -> str:
        """The filters as a query string (for shareable links, paging and polling); empty ones left out."""
        data = {"mailbox": self.cleaned_data["mailbox"], "flag": self.cleaned_data["flag"]}
        if self.cleaned_data["mine"]:
            data["mine"] = "1"
        if self.cleaned_data["overdue"]:
            data["overdue"] = "1"
        data.update(overrides)
        return urlencode({key: value for key, value in data.items() if value not in ("", None)})

    @staticmethod
    def mailbox_choices() -> list[tuple[str, str]]:
        # Called from the full page only (templates call callables), so polling never pays for it.
        # The DISTINCT reads every pending draft (35 ms at 10,000): a mailbox list up to
        # MAILBOX_CHOICES_SECONDS old is good enough for a filter menu.
        cached = cache.get(MAILBOX_CHOICES_KEY)
        if cached is None:
            cached = selectors.queue_mailboxes()
            cache.set(MAILBOX_CHOICES_KEY, cached, MAILBOX_CHOICES_SECONDS)
        return [tuple(choice) for choice in cached]


class DecisionForm(FormErrorsMixin, forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason_preset = forms.ChoiceField(
        required=False, choices=[("", "Other reason"), *((r, r) for r in PRESET_REJECT_REASONS)]
    )
    reason_text = forms.CharField(required=False, max_length=2000, strip=True)
    shown_snapshot_id = forms.IntegerField(required=False, min_value=1)
    confirm_changed = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("action") == "reject" and not data.get("reason_preset") and not data.get("reason_text"):
            raise forms.ValidationError("A rejection needs a reason: choose one or write one.")
        return data

    def reason(self) -> str:
        preset, text = self.cleaned_data.get("reason_preset", ""), self.cleaned_data.get("reason_text", "")
        if self.cleaned_data["action"] == "approve":
            return text
        return f"{preset}: {text}" if preset and text else preset or text


class ClaimForm(FormErrorsMixin, forms.Form):
    take_over = forms.BooleanField(required=False)
