"""The admins' callback page of an intake token: set the URL (checked), the secret shown once, the
delivery log (status, attempts, last error) and redeliver."""

import re

import pytest
from django.urls import reverse

from reviewqueue.audit.models import AuditEvent
from reviewqueue.callbacks import delivery, services
from reviewqueue.callbacks.models import CallbackDelivery, CallbackEndpoint
from tests.callbacks.conftest import issued_token, submitted_draft, with_callback
from tests.http_receiver import Answer, Receiver

pytestmark = pytest.mark.django_db


def page(token) -> str:
    return reverse("callbacks:token", kwargs={"token_pk": token.pk})


def test_only_admins_see_it(reviewer_client, auditor_client, client):
    token = issued_token()
    assert reviewer_client.get(page(token)).status_code == 403
    assert auditor_client.get(page(token)).status_code == 403
    assert client.get(page(token)).status_code == 302  # to the login page
    assert reviewer_client.post(page(token), {"url": "https://agent.example.com/"}).status_code == 403
    assert not CallbackEndpoint.objects.exists()


def test_the_token_list_links_to_it(admin_client_):
    token = issued_token()
    assert page(token) in admin_client_.get(reverse("routing:intake_tokens")).content.decode()


def test_setting_a_url_shows_the_secret_once(admin_client_, lenient, receiver):
    token = issued_token()
    answer = admin_client_.post(page(token), {"url": f"{receiver.url}/hook"})
    assert answer.status_code == 200
    html = answer.content.decode()
    secret = re.search(r'<pre class="secret" id="callback-secret">(whsec_[A-Za-z0-9+/=]+)</pre>', html).group(1)
    endpoint = CallbackEndpoint.objects.get(token=token)
    assert services.endpoint_secret(endpoint) == secret and secret not in endpoint.secret_encrypted
    again = admin_client_.get(page(token)).content.decode()
    assert secret not in again and endpoint.secret_hint in again and f"{receiver.url}/hook" in again
    event = AuditEvent.objects.filter(action="callback.url_set").get()
    assert event.payload["new"]["url"] == f"{receiver.url}/hook" and secret not in str(event.payload)


def test_changing_the_url_keeps_the_secret(admin_client_, lenient):
    token = issued_token()
    secret = with_callback(token, "http://127.0.0.1:9/a")
    answer = admin_client_.post(page(token), {"url": "http://127.0.0.1:9/b"}, follow=True)
    assert "the secret stays the same" in answer.content.decode()
    endpoint = CallbackEndpoint.objects.get(token=token)
    assert endpoint.url == "http://127.0.0.1:9/b" and services.endpoint_secret(endpoint) == secret


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://agent.example.com/hook", "must start with https://"),
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("https://[::ffff:10.0.0.1]/hook", "::ffff:a00:1 is 10.0.0.1 in IPv6 form, a private or reserved address"),
        ("not a url", "must start with https://"),
    ],
)
def test_a_refused_url_is_a_400_that_says_why(admin_client_, settings, url, message):
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    token = issued_token()
    answer = admin_client_.post(page(token), {"url": url})
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not CallbackEndpoint.objects.exists()


def test_a_new_secret_is_shown_once_and_signs_the_next_attempt(admin_client_, lenient):
    token = issued_token()
    old = with_callback(token, "http://127.0.0.1:9/hook")
    html = admin_client_.post(reverse("callbacks:token_secret_rotate", kwargs={"token_pk": token.pk})).content.decode()
    new = re.search(r'id="callback-secret">(whsec_[^<]+)</pre>', html).group(1)
    assert new != old and services.endpoint_secret(CallbackEndpoint.objects.get(token=token)) == new


def test_stop_callbacks_keeps_the_log(admin_client_, lenient):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/hook")
    services.callback_queue(draft_id=submitted_draft(token).pk, event="draft.approved")
    answer = admin_client_.post(reverse("callbacks:token_remove", kwargs={"token_pk": token.pk}), follow=True)
    assert "has no callback any more" in answer.content.decode()
    assert not CallbackEndpoint.objects.exists() and CallbackDelivery.objects.count() == 1


def test_the_log_shows_status_attempts_and_last_error_and_redelivers(
    admin_client_, lenient, broker, django_capture_on_commit_callbacks
):
    with Receiver([Answer(404, body=b"unknown hook"), Answer(200)]) as receiver:
        token = issued_token()
        with_callback(token, f"{receiver.url}/hook")
        failed = services.callback_queue(draft_id=submitted_draft(token).pk, event="draft.changes_requested")
        assert delivery.delivery_run(delivery_id=failed.pk) == "failed"
        html = admin_client_.get(page(token)).content.decode()
        row = re.search(r'<tr data-status="failed">.*?</tr>', html, re.S).group(0)
        assert "draft.changes_requested" in row and failed.webhook_id in row and "(HTTP 404)" in row
        assert "<td>1</td>" in row and "HTTP 404: unknown hook" in row and "Redeliver" in row
        assert "1 failed" in html

        broker.flush()
        redeliver = reverse("callbacks:delivery_redeliver", kwargs={"pk": failed.pk})
        with django_capture_on_commit_callbacks(execute=True):
            answer = admin_client_.post(redeliver, follow=True)
        assert f"queued again ({failed.webhook_id})" in answer.content.decode()
        assert broker.queued() == [("callbacks.deliver", [failed.pk])]
        assert delivery.delivery_run(delivery_id=failed.pk) == "delivered"
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.redeliveries) == ("delivered", 1, 1)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == failed.webhook_id
    assert AuditEvent.objects.filter(action="callback.redelivered", payload__delivery_id=failed.pk).exists()
    html = admin_client_.get(page(token) + "?status=delivered").content.decode()
    assert re.search(r'<tr data-status="delivered">', html) and "redelivered 1 time" in html


def test_a_delivery_still_being_tried_is_not_redelivered(admin_client_, lenient, broker):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/hook")
    pending = services.callback_queue(draft_id=submitted_draft(token).pk, event="draft.approved")
    broker.flush()
    answer = admin_client_.post(reverse("callbacks:delivery_redeliver", kwargs={"pk": pending.pk}), follow=True)
    assert "still being tried" in answer.content.decode()
    assert broker.queued() == []


def test_an_unknown_status_filter_shows_everything(admin_client_):
    token = issued_token()
    assert admin_client_.get(page(token) + "?status=nonsense").status_code == 200


def test_the_log_shows_the_exact_body_sent(admin_client_, lenient):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/hook")
    queued = services.callback_queue(draft_id=submitted_draft(token).pk, event="draft.approved")
    html = admin_client_.get(page(token)).content.decode()
    assert html.count("<summary>body</summary>") == 1
    assert queued.body.replace('"', "&quot;") in html  # escaped, never markup


def test_the_token_list_shows_failed_callbacks(admin_client_, lenient):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/hook")
    failed = services.callback_queue(draft_id=submitted_draft(token).pk, event="draft.approved")
    html = admin_client_.get(reverse("routing:intake_tokens")).content.decode()
    assert "failed</a>" not in html
    CallbackDelivery.objects.filter(pk=failed.pk).update(status="failed")
    html = admin_client_.get(reverse("routing:intake_tokens")).content.decode()
    assert f'href="{page(token)}?status=failed#log" class="badge bad">1 failed</a>' in html
