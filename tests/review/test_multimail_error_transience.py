"""One answer to "retry later or give up?" for every MultiMail failure, read from the error itself.

The client's error says whether it is transient and how long MultiMail asked us to wait; the poll
(draft_fetch), the outbox (outbox_run) and intake's HTTP answer all act on that same answer. Each
case below is one way MultiMail can answer (or not), played through a client on httpx.MockTransport.
"""

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from reviewqueue.integrations.http import NO_RETRY
from reviewqueue.integrations.multimail.client import MultiMailClient, MultiMailError
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.ingest import FetchTransientError, draft_fetch
from reviewqueue.review.models import Draft, OutboxItem
from reviewqueue.review.outbox import outbox_run
from reviewqueue.routing.intake_api import multimail_error_response
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def answer(status: int, headers: dict | None = None):
    return lambda request: httpx.Response(status, json={"error": f"said {status}"}, headers=headers)


def fail_with(exception: Exception):
    def handle(request):
        raise exception

    return handle


# (name, how MultiMail answers every request, transient?, retry_after)
CASES = [
    ("429 with Retry-After", answer(429, {"Retry-After": "7"}), True, 7.0),
    ("500", answer(500), True, None),
    ("502", answer(502), True, None),
    ("503", answer(503), True, None),
    ("timeout", fail_with(httpx.ReadTimeout("slow")), True, None),
    ("no connection", fail_with(httpx.ConnectError("refused")), True, None),
    ("400", answer(400), False, None),
    ("401", answer(401), False, None),
    ("403", answer(403), False, None),
    ("404", answer(404), False, None),
    ("409", answer(409), False, None),
]
IDS = [case[0] for case in CASES]


def failing_client(handler) -> MultiMailClient:
    return MultiMailClient(
        base_url="https://api.multimail.test",
        api_key="mm_live_over",
        send_api_key="mm_live_send",
        transport=httpx.MockTransport(handler),
        retry=NO_RETRY,
        sleep=lambda seconds: None,
    )


def error_from(client: MultiMailClient) -> MultiMailError:
    with pytest.raises(MultiMailError) as raised:
        client.get_email(mailbox_id="mbx_1", email_id="em_1")
    return raised.value


@pytest.mark.parametrize(("name", "handler", "transient", "retry_after"), CASES, ids=IDS)
def test_the_error_says_whether_it_is_transient_and_how_long_to_wait(name, handler, transient, retry_after):
    error = error_from(failing_client(handler))
    assert (error.transient, error.retry_after) == (transient, retry_after)


@pytest.mark.parametrize(("name", "handler", "transient", "retry_after"), CASES, ids=IDS)
def test_intake_asks_the_agent_to_retry_exactly_when_the_error_is_transient(name, handler, transient, retry_after):
    response = multimail_error_response(error_from(failing_client(handler)))
    assert (response.status_code in (429, 503)) == transient
    assert response.get("Retry-After") == (str(int(retry_after)) if retry_after else None)


@pytest.mark.parametrize(("name", "handler", "transient", "retry_after"), CASES, ids=IDS)
def test_the_poll_retries_the_fetch_exactly_when_the_error_is_transient(name, handler, transient, retry_after):
    draft = received_draft()
    Draft.objects.filter(pk=draft.pk).update(fetched_at=None)
    if transient:
        with pytest.raises(FetchTransientError):
            draft_fetch(draft_id=draft.pk, multimail=failing_client(handler))
        assert Draft.objects.get(pk=draft.pk).status == Draft.Status.PENDING
    else:
        assert draft_fetch(draft_id=draft.pk, multimail=failing_client(handler)).status == Draft.Status.FAILED


@pytest.mark.parametrize(("name", "handler", "transient", "retry_after"), CASES, ids=IDS)
def test_the_outbox_retries_the_decision_exactly_when_the_error_is_transient(
    broker, reviewer, name, handler, transient, retry_after
):
    draft_decide(draft=received_draft(), reviewer=reviewer, action="approve", reason="", origin="web")
    item = OutboxItem.objects.get(kind="decide")
    started = timezone.now()
    assert outbox_run(item_id=item.pk, multimail=failing_client(handler)) == ("retry" if transient else "failed")
    item.refresh_from_db()
    if retry_after:
        assert item.next_attempt_at >= started + timedelta(seconds=retry_after)
