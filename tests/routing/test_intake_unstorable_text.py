"""Intake refuses text PostgreSQL cannot store (NUL, unpaired surrogates) with a 400 naming the field.

Found by schemathesis against the live server: a NUL in the subject was a 500.
"""

import pytest

from reviewqueue.routing.intake_payload import IntakeInvalid, payload_validate

VALID = {"intercom_conversation_id": "123", "to": ["ana@customer.example"], "subject": "Hi", "markdown": "Hello"}


@pytest.mark.parametrize("field", ["subject", "markdown"])
@pytest.mark.parametrize("bad", ["before\x00after", "lone \ud800 surrogate"])
def test_unstorable_text_is_refused_naming_the_field(field, bad):
    with pytest.raises(IntakeInvalid) as refused:
        payload_validate({**VALID, field: bad})
    assert refused.value.status == 400
    assert "cannot be stored" in refused.value.fields[field]


def test_ordinary_unicode_passes():
    payload = payload_validate({**VALID, "subject": "Grüße 👋", "markdown": "Ünïcödé\ttabs"})
    assert payload.subject == "Grüße 👋"
