"""The whole revision loop as `make run` shows it, end to end: the traffic bot drafts through intake
(a live server), a reviewer requests changes, a real Celery worker carries the decision out at the
MultiMail sandbox and delivers the signed draft.changes_requested callback to the bot, and the bot
answers with a revision (revision_of) that enters the queue as revision 2."""

import pytest
from django.conf import settings as django_settings
from django.db import connection

from reviewqueue.audit.services import Actor
from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Draft
from reviewqueue.routing.models import Mailbox, OversightMode
from reviewqueue.routing.services import intake_token_issue, ruleset_save
from reviewqueue.sandbox.multimail import defaults as mm_defaults
from reviewqueue.sandbox.server import serve_in_thread
from reviewqueue.sandbox.traffic import Traffic, parse_config
from reviewqueue.sandbox.traffic_agent import seed_callback
from tests.livesystem import free_port, wait_for
from tests.review.live import Sandboxes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(settings, broker, monkeypatch):
    sandboxes = Sandboxes().start()
    for name, value in sandboxes.settings_overrides().items():
        setattr(settings, name, value)
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True  # the bot listens on 127.0.0.1
    settings.ALLOWED_HOSTS = ["127.0.0.1"]  # the app is served on a loopback port below
    monkeypatch.setenv("CALLBACK_ALLOW_PRIVATE_NETWORKS", "1")  # and so does the worker, started below
    yield sandboxes
    sandboxes.stop()


def demo_routing() -> str:
    """What `make run` seeds (local.seed_demo_intake): every draft to the demo mailbox, a token for the bot."""
    actor = Actor.system("test")
    Mailbox.objects.create(
        mailbox_id=mm_defaults.DEMO_MAILBOX_ID,
        address=f"{mm_defaults.DEMO_MAILBOX_LOCAL}@{mm_defaults.TENANT_DOMAIN}",
        oversight_mode=OversightMode.GATED_SEND,
    )
    ruleset_save(rules=[], default_mailbox_id=mm_defaults.DEMO_MAILBOX_ID, actor=actor, note="test")
    _, raw = intake_token_issue(name="traffic generator", kinds=["follow_up"], actor=actor)
    return raw


@pytest.fixture
def web(world):
    """The app on a loopback thread, built now: after the test's settings (plain http, the sandboxes)."""
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    django_app = get_wsgi_application()

    def app(environ, start_response):
        try:
            return list(django_app(environ, start_response))
        finally:
            connections.close_all()  # this request thread's: none may outlive the test database

    with serve_in_thread(app) as running:
        yield running.url


def test_a_changes_request_comes_back_as_a_revision(world, web, reviewer, monkeypatch):
    raw = demo_routing()
    port = free_port()
    monkeypatch.setenv("REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN", raw)
    monkeypatch.setenv("REVIEWQUEUE_TRAFFIC_CALLBACK_SECRET", seed_callback(raw, port=port))
    world.worker(connection.settings_dict, django_settings.REDIS_URL)
    args = ["--intercom-url", world.intercom_url, "--multimail-url", world.multimail_url]
    args += ["--intake-url", f"{web}/api/v1/drafts", "--callback-port", str(port)]
    args += ["--max-conversations", "1", "--reply-chance", "0", "--fin-chance", "0", "--seed", "4"]
    config = parse_config(args)
    traffic = Traffic(config)
    try:
        traffic.tick()  # a customer writes in; the bot drafts through intake
        original = wait_for(
            lambda: Draft.objects.filter(fetched_at__isnull=False).first(), timeout=60, what="the draft fetched"
        )
        draft_decide(
            draft=original,
            reviewer=reviewer,
            action="request_changes",
            reason="Mention the 5-day window.",
            origin="web",
        )

        def revision():
            traffic.tick()  # the bot answers the callbacks it received
            return Draft.objects.filter(revision_of=original).first()

        revised = wait_for(revision, timeout=90, what="the bot's revision", interval=0.5)
    finally:
        traffic.close()

    assert revised.revision_number == 2 and revised.conversation_id == original.conversation_id
    callback = CallbackDelivery.objects.get(draft=original, event="draft.changes_requested")
    assert callback.status == "delivered" and callback.attempts == 1
    assert wait_for(lambda: Draft.objects.get(pk=revised.pk).fetched_at, timeout=60, what="the revision fetched")
    revised.refresh_from_db()
    assert (revised.subject, revised.to, revised.status) == (original.subject, original.to, "pending")
    assert "To be precise: Mention the 5-day window." in revised.markdown
