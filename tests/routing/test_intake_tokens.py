"""Intake tokens: issued (shown once), listed with last use, revoked; and the issue_intake_token command."""

from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from reviewqueue.accounts.models import hash_token
from reviewqueue.audit.models import AuditEvent
from reviewqueue.routing.models import IntakeToken


def test_an_admin_issues_an_intake_token_shown_once(admin_client_, admin_user):
    response = admin_client_.post(
        reverse("routing:intake_tokens"), {"name": "Fin connector", "kinds": "shipping, refund"}
    )
    raw = response.content.decode().split('<pre class="secret">')[1].split("</pre>")[0]
    token = IntakeToken.objects.get()
    assert raw.startswith("rqi_") and token.key_hash == hash_token(raw) and token.created_by == admin_user
    assert token.kinds == ["refund", "shipping"]
    listing = admin_client_.get(reverse("routing:intake_tokens")).content.decode()
    assert "Fin connector" in listing and raw not in listing
    assert AuditEvent.objects.filter(action="intake_token.issued", actor_id=str(admin_user.pk)).exists()


def test_a_token_needs_a_name(admin_client_):
    assert admin_client_.post(reverse("routing:intake_tokens"), {"name": ""}).status_code == 400
    assert not IntakeToken.objects.exists()


def test_an_admin_revokes_an_intake_token(admin_client_):
    admin_client_.post(reverse("routing:intake_tokens"), {"name": "old"})
    token = IntakeToken.objects.get()
    admin_client_.post(reverse("routing:intake_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="intake_token.revoked")
    assert event.payload["new"] == {"revoked": True}


def test_the_command_prints_a_new_intake_token(db):
    out = StringIO()
    call_command("issue_intake_token", "fin", stdout=out)
    raw = out.getvalue().strip()
    assert IntakeToken.objects.get(name="fin").key_hash == hash_token(raw)
