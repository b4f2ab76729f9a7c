"""`make run`'s demo: Fernhill Outdoor's support morning (demo_data/), seeded once, on a fresh database.

Everything goes through the real paths: customers and Fin write in the Intercom sandbox, the agent's
drafts are sent to gated MultiMail sandbox mailboxes tagged with their conversation, reviewqueue
receives and fetches them, reviewers decide through `draft_decide`, the outbox carries each decision
to MultiMail and writes its note in Intercom, and this morning's drafts arrive through the poll.

The sandboxes are served in this process, on their usual ports, before `make run` starts their own
processes on the same state files, because their clock must be the demo's: the week of decisions is
played in time order, each step at the time it happened. reviewqueue's side records those times
through the services' `at` arguments, which the audit log accepts only in order and never before its
last event; so the demo is seeded only while the audit log is empty, and history comes first.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.utils.html import escape

from reviewqueue.sandbox import demo_data
from reviewqueue.sandbox.intercom import defaults as intercom_defaults
from reviewqueue.sandbox.multimail import defaults as multimail_defaults

ACTOR_LABEL = "make run demo"
FIN_ADMIN_ID = "992"  # the Intercom sandbox's Fin (sandbox/intercom/state.py)
_SEND_ACTOR = {"id": multimail_defaults.KEYS[multimail_defaults.SEND_KEY][0]}
_ADMIN_ACTOR = {"id": multimail_defaults.KEYS[multimail_defaults.ADMIN_KEY][0]}
# A past draft's day: the customer writes in, the agent drafts a quarter of an hour later,
# reviewqueue receives the draft a minute after that, and it waits for a reviewer (a few minutes
# to an hour, varying from draft to draft) whose decision the outbox carries out at once.
_AGENT_TAKES, _INTAKE_TAKES, _CARRIED_OUT = timedelta(minutes=15), timedelta(minutes=1), timedelta(seconds=3)


def _review_wait(index: int) -> timedelta:
    return timedelta(minutes=4 + (index * 17) % 53)


class DemoClock:
    """The sandboxes' clock: the time of the step being played, or the real time once the past is done."""

    def __init__(self):
        self.at: datetime | None = None

    def __call__(self) -> float:
        return self.at.timestamp() if self.at is not None else time.time()


@dataclass
class _Sandboxes:
    multimail: object  # sandbox.multimail.state.SandboxState
    intercom: object  # sandbox.intercom.state.SandboxState
    contacts: dict[str, str]  # email → Intercom contact id
    mailboxes: dict[str, str]  # demo_data mailbox key → MultiMail mailbox id


def demo_seed(*, multimail_state: Path, intercom_state: Path, multimail_port: int, intercom_port: int) -> bool:
    """Seed the demo; False (and nothing done) unless the audit log is still empty.

    The sandboxes' processes must not be running: their state files start over with the demo (what
    they held belonged to a database that is gone, and would only contradict the new one).
    """
    from reviewqueue.audit.models import AuditEvent

    if AuditEvent.objects.exists():
        return False
    for path in (multimail_state, intercom_state):
        Path(path).unlink(missing_ok=True)
    clock = DemoClock()
    now = datetime.now(UTC).replace(microsecond=0)
    with _sandboxes_served(multimail_state, intercom_state, multimail_port, intercom_port, clock) as sandboxes:
        steps = [step for index, past in enumerate(demo_data.PAST) for step in _past_steps(sandboxes, past, index, now)]
        week_start = min(at for at, _ in steps) - timedelta(hours=1)
        steps.append((week_start, lambda at: _team_and_mailboxes(sandboxes, at)))
        steps += [step for held in demo_data.PENDING for step in _pending_steps(sandboxes, held, now)]
        for at, step in sorted(steps, key=lambda pair: pair[0]):
            clock.at = at
            step(at)
        clock.at = None
        _this_morning(sandboxes)
    return True


# --- the sandboxes, in this process ----------------------------------------------------------------


@contextmanager
def _sandboxes_served(multimail_state, intercom_state, multimail_port, intercom_port, clock) -> Iterator[_Sandboxes]:
    from reviewqueue.sandbox.intercom.app import make_app as intercom_app
    from reviewqueue.sandbox.multimail.app import Knobs, MultiMailSandbox
    from reviewqueue.sandbox.multimail.state import SandboxState
    from reviewqueue.sandbox.server import serve_in_thread

    multimail = MultiMailSandbox(SandboxState(multimail_state, clock=clock), Knobs())
    intercom = intercom_app(state_path=intercom_state, clock=clock)
    access_log = logging.getLogger("werkzeug")
    with ExitStack() as stack:
        # A few hundred calls: their access log would bury what `make run` prints.
        stack.callback(access_log.setLevel, access_log.level)
        access_log.setLevel(logging.WARNING)
        stack.enter_context(serve_in_thread(multimail, port=multimail_port))
        stack.enter_context(serve_in_thread(intercom, port=intercom_port))
        stack.callback(multimail.stop)
        yield _Sandboxes(multimail.state, intercom.state, contacts={}, mailboxes={})


def _team_and_mailboxes(sandboxes: _Sandboxes, at: datetime) -> None:
    """The reviewers get their role, and the three mailboxes exist, before the week begins."""
    from reviewqueue.accounts.services import role_grant, user_ensure
    from reviewqueue.audit.services import Actor

    actor = Actor.system(ACTOR_LABEL)
    for reviewer in demo_data.REVIEWERS:
        user, _ = user_ensure(username=reviewer.username, email=reviewer.email, actor=actor, at=at)
        role_grant(user=user, role="reviewer", actor=actor, at=at)
    for mailbox in demo_data.MAILBOXES:
        _, created = sandboxes.multimail.mailbox_create(
            actor=_ADMIN_ACTOR, address_local=mailbox.address, display_name=mailbox.display_name
        )
        sandboxes.mailboxes[mailbox.key] = created["id"]


# --- a customer, their conversation, the agent's draft ------------------------------------------------


def _contact(sandboxes: _Sandboxes, name: str, email: str) -> str:
    if email not in sandboxes.contacts:
        sandboxes.contacts[email] = sandboxes.intercom.contact_create(email=email, name=name)["id"]
    return sandboxes.contacts[email]


def _write_in(sandboxes: _Sandboxes, name: str, email: str, text: str) -> str:
    """The customer opens a conversation; its (numeric) id."""
    conversation, _ = sandboxes.intercom.conversation_create(contact_id=_contact(sandboxes, name, email), body=_p(text))
    return conversation["id"]


def _say(sandboxes: _Sandboxes, conversation_id: str, said: demo_data.Said, contact_id: str) -> None:
    if said.who == "fin":
        request = {"type": "admin", "admin_id": FIN_ADMIN_ID, "message_type": "comment", "body": _p(said.text)}
    else:
        request = {"type": "user", "intercom_user_id": contact_id, "message_type": "comment", "body": _p(said.text)}
    sandboxes.intercom.reply(conversation_id, request)


def _agent_drafts(sandboxes: _Sandboxes, *, key: str, mailbox: str, to: str, subject: str, markdown: str,
                  conversation_id: str, attachments=()) -> str:  # fmt: skip
    """The AI agent sends its draft to the gated mailbox, tagged with its conversation; the email id."""
    body = {
        "to": [to],
        "subject": subject,
        "markdown": markdown,
        "idempotency_key": f"demo-{key}",
        "attachments": [
            {"name": a.name, "content_type": a.content_type, "content_base64": _base64(a.text)} for a in attachments
        ],
    }
    mailbox_id = sandboxes.mailboxes[mailbox]
    _, sent = sandboxes.multimail.send(actor=_SEND_ACTOR, mailbox_id=mailbox_id, body=body)
    tags = {"intercom_conversation_id": conversation_id}
    sandboxes.multimail.tags_set(actor=_SEND_ACTOR, mailbox_id=mailbox_id, email_id=sent["id"], tags=tags)
    return sent["id"]


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


# --- the past week: received, decided, carried out ------------------------------------------------------


def _decided_at(past: demo_data.DecidedDraft, now: datetime) -> datetime:
    hour, minute = map(int, past.time.split(":"))
    return (now - timedelta(days=past.day)).replace(hour=hour, minute=minute, second=0)


def _past_steps(
    sandboxes: _Sandboxes, past: demo_data.DecidedDraft, index: int, now: datetime
) -> list[tuple[datetime, Callable]]:
    decided_at = _decided_at(past, now)
    received_at = decided_at - _review_wait(index)
    found: dict[str, object] = {}

    def write_in(at):
        found["conversation"] = _write_in(sandboxes, past.customer, past.email, past.question)

    def draft(at):
        found["email"] = _agent_drafts(
            sandboxes,
            key=f"past-{past.day}-{past.time}",
            mailbox=past.mailbox,
            to=past.email,
            subject=past.subject,
            markdown=past.markdown,
            conversation_id=found["conversation"],
        )

    def receive(at):
        found["draft"] = _receive(sandboxes.mailboxes[past.mailbox], found["email"], at)

    def decide(at):
        found["decision"] = _decide(found["draft"], past, at)

    def carry_out(at):
        _carry_out(found["decision"], at)

    return [
        (received_at - _INTAKE_TAKES - _AGENT_TAKES, write_in),
        (received_at - _INTAKE_TAKES, draft),
        (received_at, receive),
        (decided_at, decide),
        (decided_at + _CARRIED_OUT, carry_out),
    ]


def _receive(mailbox_id: str, email_id: str, at: datetime):
    """As the poll receives a draft, at `at`; then fetched with its conversation."""
    from reviewqueue.audit.services import Actor
    from reviewqueue.review.ingest import draft_fetch, draft_receive

    draft, _ = draft_receive(
        email_id=email_id, mailbox_id=mailbox_id, source="poll", actor=Actor.system("review.poll"), fetch=False, at=at
    )
    return draft_fetch(draft_id=draft.pk, draft=draft, at=at)


def _decide(draft, past: demo_data.DecidedDraft, at: datetime):
    from django.contrib.auth import get_user_model

    from reviewqueue.audit.services import RequestOrigin
    from reviewqueue.review.decisions import draft_decide

    reviewer = next(r for r in demo_data.REVIEWERS if r.username == past.reviewer)
    return draft_decide(
        draft=draft,
        reviewer=get_user_model().objects.get(username=reviewer.username),
        action=past.action,
        reason=past.reason,
        origin="web",
        shown_snapshot_id=draft.latest_snapshot_id,
        request_origin=RequestOrigin(ip=reviewer.office_ip, user_agent=reviewer.user_agent),
        at=at,
    )


def _carry_out(decision, at: datetime) -> None:
    """The outbox's decide (and with it the Intercom note), as the worker would have run it then."""
    from reviewqueue.review.models import OutboxItem
    from reviewqueue.review.outbox import outbox_run

    decide = OutboxItem.objects.get(decision=decision, kind=OutboxItem.Kind.DECIDE)
    outbox_run(item_id=decide.pk, at=at)


# --- this morning: held drafts the poll brings in ---------------------------------------------------------


def _pending_steps(sandboxes: _Sandboxes, held: demo_data.HeldDraft, now: datetime) -> list[tuple[datetime, Callable]]:
    first, *rest = held.thread
    found: dict[str, str] = {}

    def write_in(at):
        found["conversation"] = _write_in(sandboxes, held.customer, held.email, first.text)

    def say(said):
        return lambda at: _say(sandboxes, found["conversation"], said, sandboxes.contacts[held.email])

    def draft(at):
        _agent_drafts(
            sandboxes,
            key=held.key,
            mailbox=held.mailbox,
            to=held.to or held.email,
            subject=held.subject,
            markdown=held.markdown,
            conversation_id=found["conversation"],
            attachments=held.attachments,
        )

    minutes = timedelta(minutes=1)
    return [
        (now - first.minutes_ago * minutes, write_in),
        *((now - said.minutes_ago * minutes, say(said)) for said in rest),
        (now - held.drafted_minutes_ago * minutes, draft),
    ]


def _this_morning(sandboxes: _Sandboxes) -> None:
    """Now: the mailbox list mirrored, routing by kind saved (the agent's billing and privacy drafts to
    their desks, the rest to orders), and the held drafts received by the poll, as beat would."""
    from reviewqueue.audit.services import Actor
    from reviewqueue.review.poll import pending_sync
    from reviewqueue.routing.rules import Rule
    from reviewqueue.routing.services import mailboxes_sync, ruleset_save

    actor = Actor.system(ACTOR_LABEL)
    mailboxes_sync(actor=actor)
    desks = sandboxes.mailboxes
    rules = [Rule(mailbox_id=desks[kind], kind=kind) for kind in ("billing", "privacy")]
    ruleset_save(rules=rules, default_mailbox_id=desks["orders"], actor=actor, note=f"{demo_data.COMPANY}'s desks")
    result = pending_sync()
    if result.errors:
        raise RuntimeError(f"the demo's drafts could not be received: {'; '.join(result.errors)}")


def make_run_seed() -> bool:
    """`make run` on the local default, before the sandboxes start: the demo, once, in var/sandbox/."""
    from django.conf import settings

    from reviewqueue.sandbox.local import STATE_DIR

    both_local = (settings.MULTIMAIL_API_URL, settings.INTERCOM_API_URL) == (
        multimail_defaults.API_URL,
        intercom_defaults.API_URL,
    )
    if not (settings.SANDBOX and both_local):
        return False
    seeded = demo_seed(
        multimail_state=STATE_DIR / "multimail.json",
        intercom_state=STATE_DIR / "intercom.json",
        multimail_port=multimail_defaults.PORT,
        intercom_port=intercom_defaults.PORT,
    )
    if seeded:
        print(
            f"\nDemo: {demo_data.COMPANY}'s support morning: {len(demo_data.PENDING)} drafts waiting in "
            f"{len(demo_data.MAILBOXES)} mailboxes, {len(demo_data.PAST)} decided over the past week."
        )
    return seeded
