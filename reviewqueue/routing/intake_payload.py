"""Intake's request body: POST /api/v1/drafts's JSON, checked strictly against MultiMail's limits.

Every problem is named by field (IntakeInvalid.fields) so an agent can mend its request; nothing
here touches the database or the network.
"""

import json
import re
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.validators import validate_email

from reviewqueue.jsonbody import JsonBodyInvalid, json_body_parse
from reviewqueue.routing.rules import KIND_PATTERN, KIND_RULE
from reviewqueue.text import UNSTORABLE_MESSAGE, is_storable

# Limits from MultiMail's send endpoint (multimail-openapi.json, SendEmailRequest).
MAX_RECIPIENTS = 50
MAX_SUBJECT = 998
MAX_MARKDOWN = 262_144
FIELDS = {"intercom_conversation_id", "to", "cc", "subject", "markdown", "kind", "revision_of"}
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class IntakeInvalid(Exception):
    def __init__(self, status: int, error: str, fields: dict[str, str] | None = None):
        super().__init__(error)
        self.status, self.error, self.fields = status, error, fields or {}

    def body(self) -> dict:
        return {"error": self.error, "fields": self.fields}


@dataclass(frozen=True)
class IntakePayload:
    intercom_conversation_id: str
    to: tuple[str, ...]
    subject: str
    markdown: str
    cc: tuple[str, ...] = ()
    kind: str = ""
    revision_of: int | None = None  # a revision of this draft of ours, whose changes were requested

    def canonical(self) -> bytes:
        data = {
            "intercom_conversation_id": self.intercom_conversation_id,
            "to": list(self.to),
            "cc": list(self.cc),
            "subject": self.subject,
            "markdown": self.markdown,
            "kind": self.kind,
            # Only when given, so the idempotency key of every other request stays as it was.
            **({"revision_of": self.revision_of} if self.revision_of is not None else {}),
        }
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def intake_parse(request) -> IntakePayload:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise IntakeInvalid(415, "send the draft as JSON with Content-Type: application/json")
    try:
        data = json_body_parse(request.body)
    except RequestDataTooBig as error:
        raise IntakeInvalid(413, "the request body is too large") from error
    except JsonBodyInvalid as error:
        raise IntakeInvalid(400, str(error)) from error
    if not isinstance(data, dict):
        raise IntakeInvalid(400, "the body must be a JSON object")
    return payload_validate(data)


def payload_validate(data: dict) -> IntakePayload:
    fields: dict[str, str] = {}
    for name in sorted(set(data) - FIELDS):
        fields[name] = f"unknown field {name!r}; allowed: {', '.join(sorted(FIELDS))}"
    conversation_id = data.get("intercom_conversation_id")
    if isinstance(conversation_id, int) and not isinstance(conversation_id, bool):
        conversation_id = str(conversation_id)  # Intercom ids are digits; a template may send them unquoted
    if not isinstance(conversation_id, str) or not _CONVERSATION_ID.match(conversation_id):
        fields["intercom_conversation_id"] = "required: the Intercom conversation id (letters, digits, - or _)"
    to = _addresses(data, "to", fields, required=True)
    cc = _addresses(data, "cc", fields, required=False)
    if "to" not in fields and "cc" not in fields and len(to) + len(cc) > MAX_RECIPIENTS:
        fields["to"] = f"at most {MAX_RECIPIENTS} recipients in to and cc together ({len(to) + len(cc)} given)"
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        fields["subject"] = "required: a non-empty string"
    elif len(subject) > MAX_SUBJECT:
        fields["subject"] = f"at most {MAX_SUBJECT} characters ({len(subject)} given)"
    elif "\r" in subject or "\n" in subject:
        fields["subject"] = "must be a single line"
    elif not is_storable(subject):
        fields["subject"] = UNSTORABLE_MESSAGE
    markdown = data.get("markdown")
    if not isinstance(markdown, str) or not markdown.strip():
        fields["markdown"] = "required: the email body as a non-empty Markdown string"
    elif len(markdown) > MAX_MARKDOWN:
        fields["markdown"] = f"at most {MAX_MARKDOWN} characters ({len(markdown)} given)"
    elif not is_storable(markdown):
        fields["markdown"] = UNSTORABLE_MESSAGE
    kind = data.get("kind", "")
    if kind is None:
        kind = ""
    if not isinstance(kind, str) or (kind and not KIND_PATTERN.match(kind)):
        fields["kind"] = f"optional: {KIND_RULE}"
    revision_of = data.get("revision_of")
    if revision_of is not None and (
        isinstance(revision_of, bool) or not isinstance(revision_of, int) or revision_of < 1
    ):
        fields["revision_of"] = "optional: the id (a positive integer) of our draft whose changes were requested"
    if fields:
        raise IntakeInvalid(400, "invalid draft: " + ", ".join(sorted(fields)), fields)
    return IntakePayload(
        intercom_conversation_id=conversation_id,
        to=to,
        subject=subject,
        markdown=markdown,
        cc=cc,
        kind=kind,
        revision_of=revision_of,
    )


def _addresses(data: dict, name: str, fields: dict, *, required: bool) -> tuple[str, ...]:
    value = data.get(name)
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        fields[name] = "required: a non-empty list of email addresses" if required else "a list of email addresses"
        return ()
    if len(value) > MAX_RECIPIENTS:
        fields[name] = f"at most {MAX_RECIPIENTS} recipients ({len(value)} given)"
        return ()
    for position, address in enumerate(value):
        try:
            if not isinstance(address, str):
                raise ValidationError("not a string")
            validate_email(address)
        except ValidationError:
            fields[name] = f"item {position} is not a valid email address"
            return ()
    return tuple(value)
