"""The traffic generator: customers write in to the Intercom sandbox and a bot drafts into MultiMail."""

import pytest

from reviewqueue.sandbox.intercom.app import make_app as make_intercom
from reviewqueue.sandbox.multimail import defaults as multimail_defaults
from reviewqueue.sandbox.multimail.app import make_app as make_multimail
from reviewqueue.sandbox.server import serve_in_thread
from reviewqueue.sandbox.traffic import Traffic, parse_config


@pytest.fixture
def sandboxes():
    intercom = make_intercom()
    multimail = make_multimail(seed_demo=True, start_sender=False)
    with serve_in_thread(intercom) as intercom_server, serve_in_thread(multimail) as multimail_server:
        yield intercom, intercom_server.url, multimail, multimail_server.url
    intercom.close()


def traffic_for(intercom_url, multimail_url, *extra, monkeypatch=None):
    config = parse_config(["--intercom-url", intercom_url, "--multimail-url", multimail_url, "--seed", "3", *extra])
    return Traffic(config)


def test_a_customer_writes_in_and_the_bot_drafts_a_tagged_follow_up_into_multimail(sandboxes, monkeypatch):
    monkeypatch.delenv("REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN", raising=False)
    intercom, intercom_url, multimail, multimail_url = sandboxes
    traffic = traffic_for(intercom_url, multimail_url, "--reply-chance", "0")
    traffic.tick()
    traffic.close()

    [conversation] = intercom.state.conversations()
    [email] = [e for e in multimail.state.data["emails"].values()]
    assert email["mailbox_id"] == multimail_defaults.DEMO_MAILBOX_ID
    assert email["tags"] == {"intercom_conversation_id": conversation["id"]}
    assert email["to"] == [conversation["source"]["author"]["email"]]


def test_a_customer_sometimes_writes_again_while_the_draft_waits(sandboxes, monkeypatch):
    monkeypatch.delenv("REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN", raising=False)
    intercom, intercom_url, _, multimail_url = sandboxes
    traffic = traffic_for(
        intercom_url, multimail_url, "--reply-chance", "1", "--reply-after", "0.001", "--fin-chance", "0"
    )
    traffic.tick()
    traffic.waiting[0].reply_at = 0  # due now
    traffic.customers_reply()
    traffic.close()
    [conversation] = intercom.state.conversations()
    parts = conversation["conversation_parts"]["conversation_parts"]
    assert [(p["part_type"], p["author"]["type"]) for p in parts] == [("comment", "user")]


def test_fin_sometimes_answers_first_as_a_bot(sandboxes, monkeypatch):
    monkeypatch.delenv("REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN", raising=False)
    intercom, intercom_url, _, multimail_url = sandboxes
    traffic = traffic_for(intercom_url, multimail_url, "--fin-chance", "1", "--reply-chance", "0")
    traffic.tick()
    traffic.close()
    [conversation] = intercom.state.conversations()
    parts = conversation["conversation_parts"]["conversation_parts"]
    assert [(p["part_type"], p["author"]["type"]) for p in parts] == [("comment", "bot")]


def test_it_stops_creating_at_the_bound_and_survives_a_service_being_down(sandboxes, monkeypatch, capsys):
    monkeypatch.delenv("REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN", raising=False)
    intercom, intercom_url, _, multimail_url = sandboxes
    traffic = traffic_for(intercom_url, multimail_url, "--max-conversations", "2", "--reply-chance", "0")
    for _ in range(4):
        traffic.tick()
    assert len(intercom.state.conversations()) == 2

    down = traffic_for("http://127.0.0.1:9", multimail_url)  # nothing listens on the discard port
    down.tick()  # prints and carries on
    traffic.close()
    down.close()
    assert "ConnectError" in capsys.readouterr().out


def test_with_an_intake_token_the_bot_drafts_through_the_intake_api(sandboxes, monkeypatch):
    from werkzeug.wrappers import Request, Response

    received = []

    def intake(environ, start_response):
        request = Request(environ)
        received.append((request.headers.get("Authorization"), request.get_json()))
        return Response('{"id": 1, "status": "pending"}', status=202, mimetype="application/json")(
            environ, start_response
        )

    intercom, intercom_url, _, multimail_url = sandboxes
    monkeypatch.setenv("REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN", "rq_intake_test")
    with serve_in_thread(intake) as server:
        traffic = traffic_for(intercom_url, multimail_url, "--intake-url", f"{server.url}/api/v1/drafts")
        traffic.tick()
        traffic.close()
    [(auth, body)] = received
    [conversation] = intercom.state.conversations()
    assert auth == "Bearer rq_intake_test"
    assert body["intercom_conversation_id"] == conversation["id"]
    assert set(body) == {"intercom_conversation_id", "to", "subject", "markdown", "kind"}
