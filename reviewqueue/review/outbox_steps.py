"""The outbox's steps: what each kind of item does at the vendors, and how their errors count.

outbox.py takes an item and runs `HANDLERS[item.kind]`; a step raises Transient (try again later,
with MultiMail's Retry-After when given) or Permanent (stop, for an admin), and returns the result
recorded on the item. decide: MultiMail's decision (an edit's own flow in review/edits.py), a 404/409
reconciled by reading the email back; tag_email: the reviewed_by tags; note, tag_conversation: the
Intercom note (looked for before it is written again) and tag; event_note: a later event told to the
conversation.
"""

from django.db import transaction
from django.utils import timezone

from reviewqueue.integrations.multimail import statuses
from reviewqueue.review import edits
from reviewqueue.review.clients import intercom_client, multimail_client
from reviewqueue.review.models import Decision, Draft, OutboxItem, multimail_status_to_store


class Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    pass


class _Clients:
    def __init__(self, multimail, intercom):
        self._multimail, self._intercom = multimail, intercom

    @property
    def multimail(self):
        if self._multimail is None:
            self._multimail = multimail_client()
        return self._multimail

    @property
    def intercom(self):
        if self._intercom is None:
            self._intercom = intercom_client()
        return self._intercom


def _multimail_errors():
    from reviewqueue.integrations.multimail import client

    return client


def _intercom_errors():
    from reviewqueue.integrations.intercom import client

    return client


def _translate_multimail(error) -> Exception:
    if error.transient:
        return Transient(f"MultiMail unavailable for now: {error}", error.retry_after)
    return Permanent(f"MultiMail refused: {type(error).__name__}: {error}")


def _translate_intercom(error) -> Exception:
    ic = _intercom_errors()
    if isinstance(error, ic.IntercomRateLimited):
        return Transient(f"Intercom rate limited: {error}", error.wait_seconds())
    if isinstance(error, ic.IntercomServerError | ic.IntercomUnavailable):
        return Transient(f"Intercom unavailable: {error}")
    return Permanent(f"Intercom refused: {type(error).__name__}: {error}")


def _multimail_action(decision: Decision) -> str:
    """MultiMail knows approve and reject: a request for changes is a rejection there (its reason says so)."""
    return "approve" if decision.action == Decision.Action.APPROVE else "reject"


def _run_decide(item: OutboxItem, clients: _Clients) -> dict:
    if item.payload.get("edit"):
        return _run_edit_decide(item, clients)
    mm = _multimail_errors()
    decision, draft = item.decision, item.draft
    try:
        answer = clients.multimail.decide(
            email_id=draft.email_id, action=_multimail_action(decision), reason=item.payload["reason"]
        )
    except (mm.MultiMailNotFound, mm.MultiMailConflict):
        return _reconcile_decide(decision, draft, clients)
    except mm.MultiMailError as error:
        raise _translate_multimail(error) from error
    _record_multimail_status(decision, answer.status)
    return {"_audit": "decide.sent", "email_id": draft.email_id, "multimail_status": answer.status}


def _run_edit_decide(item: OutboxItem, clients: _Clients) -> dict:
    """An approval with edits: send the edited version, supersede the original, approve the edit (review/edits.py)."""
    mm = _multimail_errors()
    try:
        return edits.edit_carry_out(item.decision, item.draft, clients.multimail)
    except edits.EditWait as error:
        raise Transient(str(error), retry_after=1.0) from error
    except edits.EditRefused as error:
        raise Permanent(str(error)) from error
    except mm.MultiMailError as error:
        raise _translate_multimail(error) from error


def _reconcile_decide(decision: Decision, draft: Draft, clients: _Clients) -> dict:
    """decide said 404/409: maybe our earlier call went through and its answer was lost. Read the email."""
    mm = _multimail_errors()
    try:
        email = clients.multimail.get_email(mailbox_id=draft.mailbox_id, email_id=draft.email_id)
    except mm.MultiMailNotFound as error:
        raise Permanent("MultiMail no longer knows this email (404 on decide and on read)") from error
    except mm.MultiMailError as error:
        raise _translate_multimail(error) from error
    expected = statuses.APPROVED if _multimail_action(decision) == "approve" else statuses.REJECTED
    if email.status not in expected:
        raise Permanent(f"MultiMail refused the decision (404) and says the email is {email.status!r}")
    _record_multimail_status(decision, email.status)
    return {"_audit": "decide.reconciled", "email_id": draft.email_id, "multimail_status": email.status}


def _record_multimail_status(decision: Decision, status: str) -> None:
    status = multimail_status_to_store(status)
    with transaction.atomic():  # one commit for both rows
        Decision.objects.filter(pk=decision.pk).update(carried_out_status=status)
        Draft.objects.filter(pk=decision.draft_id).update(email_status=status, updated_at=timezone.now())


def _run_tag_email(item: OutboxItem, clients: _Clients) -> dict:
    mm = _multimail_errors()
    draft = item.draft
    try:
        # Kept alongside the email's other tags (the conversation tag intake put on survives).
        tags = mm.add_tags(
            clients.multimail, mailbox_id=draft.mailbox_id, email_id=draft.email_id, tags=item.payload["tags"]
        )
    except mm.MultiMailError as error:
        raise _translate_multimail(error) from error
    return {"tags": tags}


def _note_marker(item: OutboxItem) -> str:
    # The Intercom receiver recognises our own notes by this marker and does not refresh on them.
    from reviewqueue.integrations.intercom.notifications import OWN_NOTE_MARKER

    what = f"decision {item.decision_id}" if item.decision_id else f"event {item.pk}"
    return f"{OWN_NOTE_MARKER}{what})"


def _run_note(item: OutboxItem, clients: _Clients) -> dict:
    ic = _intercom_errors()
    draft = item.draft
    marker = _note_marker(item)
    body = item.payload["body_html"].removesuffix("</p>") + f" {marker}</p>"
    try:
        if _tried_before(item) and _note_already_written(clients.intercom, draft.conversation_id, marker):
            return {"_audit": "intercom.note_written", "conversation_id": draft.conversation_id, "repeated": True}
        part_id = clients.intercom.add_note(conversation_id=draft.conversation_id, body_html=body)
    except ic.IntercomError as error:
        raise _translate_intercom(error) from error
    return {"_audit": "intercom.note_written", "conversation_id": draft.conversation_id, "part_id": part_id}


def _tried_before(item: OutboxItem) -> bool:
    """An attempt before this one may have done the work. `attempts` counts only since an admin's
    retry (which resets it), but the failure that made the retry necessary left its `last_error`."""
    return item.attempts > 1 or bool(item.last_error)


def _note_already_written(intercom, conversation_id: str, marker: str) -> bool:
    """An earlier attempt may have written the note and died before recording it: look before writing again."""
    conversation = intercom.get_conversation(conversation_id)
    return any(marker in (part.body or "") for part in conversation.parts)


def _run_tag_conversation(item: OutboxItem, clients: _Clients) -> dict:
    ic = _intercom_errors()
    name, conversation_id = item.payload["tag"], item.draft.conversation_id
    try:
        tag = clients.intercom.ensure_tag(name=name)
        try:
            clients.intercom.tag_conversation(conversation_id=conversation_id, tag_id=tag.id)
        except ic.IntercomNotFound:
            # The client knew the tag's id from earlier: it may have been deleted since. Ask again, once.
            clients.intercom.forget_tag(name)
            tag = clients.intercom.ensure_tag(name=name)
            clients.intercom.tag_conversation(conversation_id=conversation_id, tag_id=tag.id)
    except ic.IntercomError as error:
        raise _translate_intercom(error) from error
    return {"tag": tag.name, "tag_id": tag.id}


HANDLERS = {
    OutboxItem.Kind.DECIDE: _run_decide,
    OutboxItem.Kind.TAG_EMAIL: _run_tag_email,
    OutboxItem.Kind.INTERCOM_NOTE: _run_note,
    OutboxItem.Kind.INTERCOM_TAG: _run_tag_conversation,
    OutboxItem.Kind.EVENT_NOTE: _run_note,
}
