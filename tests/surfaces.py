"""What the tests of the decision surfaces beside the web page (tests/inbox: the Intercom Inbox app,
tests/slack) share: MultiMail and Intercom fakes holding one email for one conversation, that email
held as a draft, and a race of several surfaces deciding it at once."""

import threading

from django.db import connection

from reviewqueue.audit.services import Actor
from reviewqueue.review.ingest import draft_fetch, draft_receive
from reviewqueue.review.models import Draft
from tests.fakes import FakeIntercom, FakeMultiMail


def vendors_patched(monkeypatch) -> tuple[FakeMultiMail, FakeIntercom]:
    """MultiMail holding em_1 for conversation c_7 in Intercom; every client in the code talks to these fakes."""
    multimail, intercom = FakeMultiMail(), FakeIntercom()
    intercom.add_conversation("c_7", contact=intercom.add_contact("customer@example.com"))
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    mm_client, ic_client = multimail.client(), intercom.client()
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: mm_client)
    monkeypatch.setattr("reviewqueue.integrations.intercom.client.get_intercom_client", lambda **_: ic_client)
    return multimail, intercom


def em_1_held() -> Draft:
    """em_1 of mbx_1, held: received and fetched with its conversation, as the poll does."""
    received, _ = draft_receive(
        email_id="em_1", mailbox_id="mbx_1", source="poll", actor=Actor.system("t"), fetch=False
    )
    return draft_fetch(draft_id=received.pk)


def race(deciders: dict) -> dict:
    """Run every `deciders[name]()` on its own thread (its own database connection), all released at
    once: each one's answer by name."""
    start = threading.Barrier(len(deciders))
    answers = {}

    def surface(name, decide):
        start.wait()
        try:
            answers[name] = decide()
        finally:
            connection.close()

    threads = [threading.Thread(target=surface, args=item) for item in deciders.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
