from reviewqueue.audit.models import AuditEvent, AuditVerification
from reviewqueue.audit.tasks import audit_verify

from .chain_helpers import drop_triggers, execute, seed_log


def test_starting_a_verification_queues_it_and_the_page_polls_for_the_result(
    auditor_client, auditor, broker, django_capture_on_commit_callbacks
):
    seed_log(5)
    with django_capture_on_commit_callbacks(execute=True):
        response = auditor_client.post("/audit/verification/", headers={"HX-Request": "true"})
    started = AuditVerification.objects.get()
    assert response.status_code == 200
    assert started.status == "running" and started.started_by == auditor
    assert f'hx-get="/audit/verification/{started.pk}/"' in response.content.decode()
    assert broker.queued() == [("audit.verify", [started.pk])]
    assert AuditEvent.objects.filter(action="audit.verification_started", actor_label=auditor.username).exists()

    audit_verify(started.pk)  # what the worker runs for that message
    polled = auditor_client.get(f"/audit/verification/{started.pk}/", headers={"HX-Request": "true"})
    body = polled.content.decode()
    assert "intact" in body and "hx-get" not in body
    assert "audit log intact: 6 events checked" in body  # the 5 seeded + the start itself


def test_the_page_shows_the_first_bad_event_of_a_broken_log(auditor_client, db):
    seed_log(5)
    drop_triggers()
    execute("DELETE FROM audit_auditevent WHERE seq = 4")
    started = AuditVerification.objects.create(started_at="2026-01-01T00:00Z")
    audit_verify(started.pk)
    body = auditor_client.get("/audit/verification/").content.decode()
    assert "broken" in body and 'href="/audit/events/4/"' in body and "missing" in body


def test_starting_a_verification_needs_the_csrf_token(auditor, db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(auditor)
    assert client.post("/audit/verification/").status_code == 403
    assert not AuditVerification.objects.exists()
