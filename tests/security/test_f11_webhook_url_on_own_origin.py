"""Issue 16, finding 11: a MultiMail webhook is subscribed to this site's own receiver only.

MultiMail sends every event of the mailbox to the subscribed URL, email content included, so the URL
must be the site's configured origin (SITE_URL, else CSRF_TRUSTED_ORIGINS) plus /webhooks/multimail.
"""

import pytest
from django.urls import reverse

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.routing.services import mailbox_webhook_subscribe
from tests.routing.conftest import mailbox

SITE = "https://reviewqueue.example.com"
OWN_RECEIVER = f"{SITE}/webhooks/multimail"
FOREIGN = [
    "https://evil.example/webhooks/multimail",
    "https://reviewqueue.example.com.evil.example/webhooks/multimail",
    "http://reviewqueue.example.com/webhooks/multimail",
    "https://reviewqueue.example.com:8443/webhooks/multimail",
    "https://reviewqueue.example.com/proxy/https://evil.example/webhooks/multimail",
    "https://attacker@evil.example/webhooks/multimail",
]


@pytest.fixture
def box(db, multimail):
    multimail.add_mailbox("mb_1", "one@acme.multimail.dev")
    return mailbox("mb_1", "one@acme.multimail.dev")


def subscribe(client, box, url=None):
    return client.post(reverse("routing:mailbox_webhook", args=[box.pk]), {"url": url} if url else {}, follow=True)


@pytest.mark.parametrize("url", FOREIGN)
def test_a_url_off_the_sites_origin_is_refused(admin_client_, box, multimail, settings, url):
    settings.SITE_URL = SITE
    response = subscribe(admin_client_, box, url)
    assert "Not subscribed" in response.content.decode() and OWN_RECEIVER in response.content.decode()
    assert multimail.webhooks == {}
    box.refresh_from_db()
    assert box.webhook_subscription_id == "" and not AuditEvent.objects.filter(action="mailbox.webhook_subscribed")


def test_the_sites_own_receiver_is_the_default_and_is_subscribed(admin_client_, box, multimail, settings):
    settings.SITE_URL = SITE
    assert OWN_RECEIVER in admin_client_.get(reverse("routing:mailbox", args=[box.pk])).content.decode()
    subscribe(admin_client_, box)
    (hook,) = multimail.webhooks.values()
    assert hook["url"] == OWN_RECEIVER


def test_without_site_url_the_csrf_trusted_origin_serves(admin_client_, box, multimail, settings):
    settings.SITE_URL = None
    settings.CSRF_TRUSTED_ORIGINS = ["https://rq.internal.example"]
    subscribe(admin_client_, box, "https://evil.example/webhooks/multimail")
    assert multimail.webhooks == {}
    subscribe(admin_client_, box, "https://rq.internal.example/webhooks/multimail")
    (hook,) = multimail.webhooks.values()
    assert hook["url"] == "https://rq.internal.example/webhooks/multimail"


def test_with_no_origin_configured_nothing_is_subscribed(admin_client_, box, multimail, settings):
    settings.SITE_URL = None
    settings.CSRF_TRUSTED_ORIGINS = []
    response = subscribe(admin_client_, box)
    assert "SITE_URL" in response.content.decode()
    assert multimail.webhooks == {}


def test_the_subscribe_service_itself_refuses_a_foreign_url(box, multimail, settings):
    settings.SITE_URL = SITE
    with pytest.raises(ValueError, match="own receiver"):
        mailbox_webhook_subscribe(mailbox=box, url=FOREIGN[0], actor=Actor.system("test"))
    assert multimail.requests == []
