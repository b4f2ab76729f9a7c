"""Webhooks duplicated, reordered and forged, posted to the real receivers over HTTP.

Must hold: nothing forged is accepted (refused with 401 before anything is stored or parsed); a
delivery repeated any number of times, even all at once, makes one stored delivery and one draft;
events arriving out of order still leave the draft in the state MultiMail holds. Intercom's
webhooks, every one delivered twice and half of them overtaken by later ones (the Intercom
sandbox's knobs), are each handled once and leave the conversation as it last was.
"""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from reviewqueue.integrations.intercom.signature import sign as intercom_sign
from reviewqueue.integrations.multimail.signature import HEADER, sign
from reviewqueue.sandbox.multimail import defaults
from tests.faults.conftest import drafts_arrive
from tests.livesystem import sandbox_keys, wait_for


def _seconds_ago(seconds: int) -> str:
    """A timestamp the receiver accepts (within 5 minutes of now)."""
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def _pending_event(email_id: str, *, event_type: str = "oversight.pending", timestamp: str | None = None):
    return {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "event_type": event_type,
        "mailbox": f"{defaults.DEMO_MAILBOX_LOCAL}@{defaults.TENANT_DOMAIN}",
        "mailbox_id": defaults.DEMO_MAILBOX_ID,
        "message_id": email_id,
        "timestamp": timestamp or _seconds_ago(0),
    }


def _post_multimail(web: httpx.Client, payload: dict, *, secret: str | None = None, body: bytes | None = None):
    raw = body if body is not None else json.dumps(payload).encode()
    signed = json.dumps(payload).encode() if body is not None else raw
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[HEADER] = sign(signed, secret)
    return web.post("/webhooks/multimail", content=raw, headers=headers)


def _stored(stack, delivery_ids: list[str]) -> int:
    return stack.query("SELECT count(*) FROM inbound_inboundwebhook WHERE delivery_id = ANY(%s)", (delivery_ids,))[0][0]


def test_forged_webhooks_are_refused_and_leave_nothing_behind(stack):
    stack.start(workers=1)
    web, secret = stack.driver.web, sandbox_keys()["MULTIMAIL_WEBHOOK_SECRET"]
    forged = [_pending_event(f"em_forged_{n}") for n in range(4)]

    answers = [
        _post_multimail(web, forged[0]).status_code,  # unsigned
        _post_multimail(web, forged[1], secret="whsec_not_the_real_one").status_code,  # signed by someone else
        _post_multimail(web, forged[2], secret=secret, body=json.dumps({**forged[2], "x": 1}).encode()).status_code,
        web.post(  # a valid signature under the wrong scheme name
            "/webhooks/multimail", content=json.dumps(forged[3]).encode(), headers={HEADER: "sha1=" + "0" * 40}
        ).status_code,
    ]
    notification = json.dumps({"type": "notification_event", "id": "notif_forged", "topic": "conversation.user.replied",
                               "data": {"item": {"type": "conversation", "id": "1"}}}).encode()  # fmt: skip
    intercom_answers = [
        web.post("/webhooks/intercom", content=notification).status_code,
        web.post("/webhooks/intercom", content=notification,
                 headers={"X-Hub-Signature": intercom_sign(notification, "not-the-client-secret")}).status_code,
    ]  # fmt: skip

    assert answers == [401, 401, 401, 401]
    assert intercom_answers == [401, 401]
    assert _stored(stack, [event["id"] for event in forged] + ["notif_forged"]) == 0
    emails = [event["message_id"] for event in forged]
    assert stack.query("SELECT count(*) FROM review_draft WHERE email_id = ANY(%s)", (emails,))[0][0] == 0


def test_a_delivery_repeated_at_once_makes_one_delivery_and_one_draft(stack):
    stack.start(workers=1, multimail_webhooks=False)
    email_id = stack.driver.agent_draft()
    event, secret = _pending_event(email_id), sandbox_keys()["MULTIMAIL_WEBHOOK_SECRET"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(
            pool.map(lambda _: _post_multimail(stack.driver.web, event, secret=secret).status_code, range(20))
        )
    # The same event again under new delivery ids (a sender retrying without its id): still one draft.
    for _ in range(3):
        assert _post_multimail(
            stack.driver.web, {**event, "id": f"evt_{uuid.uuid4().hex[:16]}"}, secret=secret
        ).is_success

    assert sorted(set(answers)) in ([200, 202], [202])
    assert answers.count(202) == 1
    assert _stored(stack, [event["id"]]) == 1
    wait_for(
        lambda: stack.query("SELECT fetched_at FROM review_draft WHERE email_id = %s", (email_id,)),
        timeout=60,
        what="the draft arrives",
    )
    assert stack.query("SELECT count(*) FROM review_draft WHERE email_id = %s", (email_id,))[0][0] == 1


def test_events_out_of_order_leave_the_draft_as_multimail_holds_it(stack):
    """MultiMail's own dashboard approved the email; its `approved` event overtakes its `pending` one."""
    stack.start(workers=1, multimail_webhooks=False)
    driver, secret = stack.driver, sandbox_keys()["MULTIMAIL_WEBHOOK_SECRET"]
    email_id = driver.agent_draft()
    oversight = {"Authorization": f"Bearer {sandbox_keys()['MULTIMAIL_API_KEY']}"}
    decided = driver.multimail.post(
        "/v1/oversight/decide",
        json={"email_id": email_id, "action": "approve", "reason": "in MultiMail"},
        headers=oversight,
    )
    assert decided.is_success, decided.text

    later = _pending_event(email_id, event_type="oversight.approved", timestamp=_seconds_ago(5))
    earlier = _pending_event(email_id, timestamp=_seconds_ago(10))
    assert _post_multimail(driver.web, later, secret=secret).is_success
    assert _post_multimail(driver.web, earlier, secret=secret).is_success

    status = wait_for(
        lambda: next(iter(stack.query(
            "SELECT status FROM review_draft WHERE email_id = %s AND status <> 'pending'", (email_id,)
        )), None),
        timeout=60,
        what="the draft settles as decided elsewhere",
    )  # fmt: skip
    assert status == ("decided_elsewhere",)
    assert stack.query(
        "SELECT count(*) FROM review_decision c JOIN review_draft d ON d.id = c.draft_id WHERE d.email_id = %s",
        (email_id,),
    ) == [(0,)]
    assert driver.multimail_decisions()[email_id] == 1


def test_intercom_webhooks_duplicated_and_reordered_are_each_handled_once_and_leave_the_latest_conversation(stack):
    stack.start(workers=1, intercom_args=("--webhook-duplicates", "1", "--webhook-reorder", "0.5"))
    driver = stack.driver
    [draft_id] = drafts_arrive(stack, 1).values()
    [(conversation_id,)] = stack.query("SELECT conversation_id FROM review_draft WHERE id = %s", (draft_id,))
    contact_id = driver.intercom.get(f"/conversations/{conversation_id}").json()["contacts"]["contacts"][0]["id"]
    said = ["Any news?", "Hello??", "A refund instead, please"]
    for text in said:
        reply = {"message_type": "comment", "type": "user", "intercom_user_id": contact_id, "body": text}
        assert driver.intercom.post(f"/conversations/{conversation_id}/reply", json=reply).is_success

    def caught_up():  # the newest snapshot holds every reply and the draft is flagged for it
        [(data,)] = stack.query(
            "SELECT data FROM intercom_conversationsnapshot WHERE conversation_id = %s ORDER BY id DESC LIMIT 1",
            (conversation_id,),
        )
        [(replied,)] = stack.query("SELECT flag_customer_replied FROM review_draft WHERE id = %s", (draft_id,))
        return [part["body"] for part in data["parts"]] == said and replied

    wait_for(caught_up, timeout=90, what="the replies reach the draft's conversation")

    def delivered_twice_stored_once():
        stored = stack.query(
            "SELECT delivery_id, attempts, status <> 'received' FROM inbound_inboundwebhook WHERE source = 'intercom'"
        )
        sent = driver.intercom.get("/_sandbox/state").json()["webhooks_sent"]
        everything = len(stored) == 1 + len(said)  # the customer writing in, then each reply
        return stored if everything and sent == 2 * len(stored) and all(done for *_, done in stored) else None

    stored = wait_for(delivered_twice_stored_once, timeout=120, what="every webhook delivered twice and settled")
    assert {attempts for _, attempts, _ in stored} == {1}  # each handled once, its duplicate not at all
    assert caught_up()  # the notifications overtaken on the way did not take the conversation back
