from reviewqueue.digests.forms import DigestPreferenceForm
from reviewqueue.digests.models import DigestPreference
from reviewqueue.routing.models import Mailbox


def mailbox_choices() -> list[tuple[str, str]]:
    return [
        (mailbox_id, address or mailbox_id)
        for mailbox_id, address in Mailbox.objects.values_list("mailbox_id", "address")
    ]


def preference_form(user, data=None) -> DigestPreferenceForm:
    """The profile's digest form, filled with the person's current choice (daily at 08:00 UTC when none)."""
    preference = DigestPreference.objects.filter(user=user).first()
    initial = {"frequency": "off", "send_at": "08:00", "timezone": "UTC", "mailbox_ids": []}
    if preference is not None:
        initial = {
            "frequency": preference.frequency,
            "send_at": preference.send_at.strftime("%H:%M"),
            "timezone": preference.time_zone,
            "mailbox_ids": preference.mailbox_ids,
        }
    return DigestPreferenceForm(data, initial=initial, mailboxes=mailbox_choices())
