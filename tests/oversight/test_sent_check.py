"""'Did we send this?' end to end against the MultiMail sandbox (in-process): the sandbox signs what it
sends and exports it as .eml; the page verifies the claim with the key from the well-known URL (cached),
matches the email to our decision, and audits every check."""

import email
import email.policy
import json
from datetime import UTC, datetime

import httpx
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewqueue.audit.models import AuditEvent
from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.oversight.identity import b64url_decode
from reviewqueue.oversight.sent_check import KEY_CACHE, sent_check
from reviewqueue.sandbox.multimail.identity import b64url
from tests.oversight.sandbox import multimail_sandbox

from .factories import seed_decision

pytestmark = pytest.mark.django_db

MARKDOWN = "Hi Ana,\n\nYour refund of **42 EUR** is on its way.\n\nBest,\nFernhill"


class CountingTransport(httpx.WSGITransport):
    def __init__(self, app):
        super().__init__(app=app)
        self.paths: list[str] = []

    def handle_request(self, request):
        self.paths.append(request.url.path)
        return super().handle_request(request)


@pytest.fixture
def sandbox(monkeypatch):
    app = multimail_sandbox(monkeypatch, transport_class=CountingTransport)
    cache.delete(KEY_CACHE)
    return app


def sent_email(sandbox, *, to="ana@example.org", subject="Your refund", markdown=MARKDOWN) -> bytes:
    """A mail sent through the sandbox's gated mailbox and approved there, exported as the recipient has it."""
    client = sandbox.client
    mailbox = client.create_mailbox(address_local="billing", display_name="Billing")
    sent = client.send(mailbox_id=mailbox.id, to=[to], subject=subject, markdown=markdown)
    sandbox.state.advance()
    client.decide(email_id=sent.id, action="approve", reason="approved by rita in reviewqueue")
    response = httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://multimail.sandbox").get(
        f"/_sandbox/emails/{sent.id}.eml"
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("message/rfc822")
    return response.content


def test_a_sent_email_matching_our_decision_links_it_and_who_approved(sandbox, reviewer):
    decision = seed_decision(reviewer, to="ana@example.org", subject="Your refund", markdown=MARKDOWN,
                             decided_at=datetime.now(UTC))  # fmt: skip
    seed_decision(reviewer, to="ana@example.org", subject="Something else", markdown=MARKDOWN)
    check = sent_check(sent_email(sandbox))
    assert check.verdict == "matched" and check.decisions == [decision]
    assert check.claim.claim["oversight_mode"] == "gated_send" and check.claim.claim["ai_generated"] is True


def test_the_signing_key_is_fetched_once_and_cached(sandbox, reviewer):
    raw = sent_email(sandbox)
    sent_check(raw)
    sent_check(raw)
    assert sandbox.transport.paths.count("/.well-known/multimail-signing-key") == 1


def test_two_matching_decisions_are_both_listed(sandbox, reviewer):
    first = seed_decision(reviewer, to="ana@example.org", subject="Your refund", markdown=MARKDOWN)
    second = seed_decision(reviewer, to="ana@example.org", subject="Your refund", markdown=MARKDOWN + "\n")
    assert set(sent_check(sent_email(sandbox)).decisions) == {first, second}


def test_signed_but_sent_without_a_decision_here(sandbox, reviewer):
    seed_decision(reviewer, to="ana@example.org", subject="Your refund", markdown="Something entirely different, "
                  "about a parcel that never arrived and the courier we will chase for you.")  # fmt: skip
    assert sent_check(sent_email(sandbox)).verdict == "signed_unmatched"


def forged(raw: bytes, **changes) -> bytes:
    """The email with its claim's fields changed and the original signature kept."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    payload, signature = "".join(str(message["X-MultiMail-Identity"]).split()).split(".")
    claim = {**json.loads(b64url_decode(payload)), **changes}
    message.replace_header("X-MultiMail-Identity", f"{b64url(json.dumps(claim, sort_keys=True).encode())}.{signature}")
    return bytes(message)


def test_a_changed_claim_is_invalid(sandbox, reviewer):
    seed_decision(reviewer, to="ana@example.org", subject="Your refund", markdown=MARKDOWN)
    raw = sent_email(sandbox)
    sent_check(raw)  # caches the key
    check = sent_check(forged(raw, oversight_mode="autonomous"))
    assert check.verdict == "invalid" and check.decisions == []
    assert check.claim.claim["oversight_mode"] == "autonomous"
    # the cached key failed, so the key was read once more in case MultiMail had rotated it
    assert sandbox.transport.paths.count("/.well-known/multimail-signing-key") == 2


def test_a_changed_body_under_a_valid_claim_matches_no_decision(sandbox, reviewer):
    seed_decision(reviewer, to="ana@example.org", subject="Your refund", markdown=MARKDOWN)
    raw = sent_email(sandbox)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message.clear_content()
    message.set_content("Please pay the outstanding 4,200 EUR to IBAN XX00 0000 today to avoid legal action.")
    assert sent_check(bytes(message)).verdict == "signed_unmatched"  # the claim does not cover the body


def test_an_email_without_the_header_has_no_claim(sandbox, reviewer):
    raw = b"From: support@fernhill.example\nTo: ana@example.org\nSubject: Your refund\n\nHello"
    assert sent_check(raw).verdict == "no_claim"


def test_the_page_checks_an_upload_and_a_paste_and_audits_each(sandbox, auditor_client, reviewer):
    decision = seed_decision(reviewer, to="ana@example.org", subject="Your refund", markdown=MARKDOWN)
    raw = sent_email(sandbox)
    response = auditor_client.post("/audit/oversight/sent-check/", {"eml": SimpleUploadedFile("fwd.eml", raw)})
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        'data-verdict="matched"' in body and f"/audit/decisions/{decision.pk}/" in body and "approved by rita" in body
    )
    pasted = auditor_client.post("/audit/oversight/sent-check/", {"pasted": "To: x@example.org\nSubject: hi\n\nbody"})
    assert 'data-verdict="no_claim"' in pasted.content.decode()
    events = AuditEvent.objects.filter(action="oversight.sent_check").order_by("seq")
    assert [e.payload["verdict"] for e in events] == ["matched", "no_claim"]
    assert events[0].payload["decision_ids"] == [decision.pk] and events[0].actor_type == "person"
    assert len(events[0].payload["email_sha256"]) == 64


def test_nothing_to_check_is_a_400_and_reviewers_may_not_check(auditor_client, reviewer_client):
    response = auditor_client.post("/audit/oversight/sent-check/", {"pasted": "   "})
    assert response.status_code == 400 and "Upload a .eml file or paste the email" in response.content.decode()
    assert reviewer_client.post("/audit/oversight/sent-check/", {"pasted": "To: a@b.c\n\nx"}).status_code == 403


def test_an_unreachable_key_says_so_instead_of_failing(sandbox, monkeypatch, reviewer):
    raw = sent_email(sandbox)
    broken = MultiMailClient(base_url="http://multimail.sandbox", api_key="x",
                             transport=httpx.MockTransport(lambda r: httpx.Response(503)))  # fmt: skip
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: broken)
    check = sent_check(raw)
    assert check.verdict == "unverifiable" and "503" in check.key_problem
