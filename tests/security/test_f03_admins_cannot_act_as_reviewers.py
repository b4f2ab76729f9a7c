"""Issue 16, finding 3: an admin cannot hold a key that decides as someone else.

A personal API token is issued by its owner only (their profile page, or `issue_token` in their own
shell); admins list and revoke tokens but never see or mint one; every token expires, after 90 days
by default, or the owner's choice up to a maximum an admin sets.
"""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reviewqueue.accounts.models import ApiToken, hash_token
from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor

PROFILE = "/accounts/profile/"
DRAFTS_API = "/api/v1/drafts"


def shown_key(response) -> str:
    return response.content.decode().split('<pre class="secret">')[1].split("</pre>")[0]


def api_status(raw: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(DRAFTS_API).status_code


def close_to(moment, expected) -> bool:
    return abs(moment - expected) < timedelta(minutes=1)


def test_an_admin_cannot_mint_a_token_for_a_reviewer_on_their_page(admin_client_, reviewer):
    response = admin_client_.post(f"/manage/people/{reviewer.pk}/tokens", {"name": "sneaky"})
    assert response.status_code in (404, 405)
    assert not ApiToken.objects.exists()
    page = admin_client_.get(reverse("routing:person", args=[reviewer.pk])).content.decode()
    assert "Issue a token" not in page


def test_the_service_refuses_anyone_but_the_owner(admin_user, reviewer):
    with pytest.raises(PermissionError):
        api_token_issue(user=reviewer, name="sneaky", actor=Actor.person(admin_user))
    assert not ApiToken.objects.exists()


def test_a_reviewer_issues_their_own_token_on_their_profile_page(reviewer, reviewer_client):
    response = reviewer_client.post(PROFILE, {"name": "laptop", "days": "30"})
    assert response.status_code == 200
    raw = shown_key(response)
    token = ApiToken.objects.get(user=reviewer)
    assert token.key_hash == hash_token(raw)
    assert close_to(token.expires_at, timezone.now() + timedelta(days=30))
    issued = AuditEvent.objects.get(action="api_token.issued")
    assert (issued.actor_type, issued.actor_id) == ("person", str(reviewer.pk))
    assert api_status(raw) == 200
    profile = reviewer_client.get(PROFILE).content.decode()
    assert raw not in profile and "not its owner" not in profile  # shown once; issued by its owner


def test_an_admin_lists_and_revokes_a_token_but_never_sees_its_key(admin_client_, reviewer):
    token, raw = api_token_issue(user=reviewer, name="laptop", actor=Actor.person(reviewer))
    page = admin_client_.get(reverse("routing:person", args=[reviewer.pk])).content.decode()
    assert "laptop" in page and raw not in page
    admin_client_.post(reverse("routing:person_token_revoke", args=[reviewer.pk, token.pk]))
    assert api_status(raw) == 401


def test_a_token_an_admin_minted_before_the_change_is_flagged_to_owner_and_admins(
    admin_client_, admin_user, reviewer, reviewer_client
):
    from reviewqueue.audit.services import audit_record

    # What the old person page did: the token row and its event, with the admin as the actor.
    token = ApiToken.objects.create(
        user=reviewer, name="minted", key_hash=hash_token("rqp_x"), key_hint="rqp_x", expires_at=timezone.now()
    )
    with transaction.atomic():
        audit_record(
            actor=Actor.person(admin_user), action="api_token.issued", target_type="api_token", target_id=token.pk
        )
    warning = "not its owner: revoke it"
    assert warning in admin_client_.get(reverse("routing:person", args=[reviewer.pk])).content.decode()
    assert warning in reviewer_client.get(PROFILE).content.decode()


def test_a_person_cannot_revoke_someone_elses_token_from_their_profile(reviewer, auditor_client):
    token, raw = api_token_issue(user=reviewer, name="laptop", actor=Actor.person(reviewer))
    response = auditor_client.post(f"/accounts/profile/tokens/{token.pk}/revoke")
    assert response.status_code == 404
    assert api_status(raw) == 200


def test_a_token_lasts_90_days_by_default_and_stops_working_when_it_expires(reviewer):
    token, raw = api_token_issue(user=reviewer, name="cli", actor=Actor.system("issue_token"))
    assert close_to(token.expires_at, timezone.now() + timedelta(days=90))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))  # 90 days on
    answer = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(DRAFTS_API)
    assert answer.status_code == 401 and "expire" in answer.json()["error"]


def test_the_owner_chooses_the_expiry_up_to_the_maximum_an_admin_sets(admin_client_, admin_user, reviewer_client):
    assert admin_client_.post("/manage/people/token-policy", {"max_days": "0"}).status_code == 400
    response = admin_client_.post("/manage/people/token-policy", {"max_days": "30"})
    assert response.status_code == 302
    policy = AuditEvent.objects.get(action="api_token.policy_set")
    assert policy.actor_id == str(admin_user.pk) and policy.payload["new"] == {"max_days": 30}

    assert reviewer_client.post(PROFILE, {"name": "too long", "days": "31"}).status_code == 400
    assert not ApiToken.objects.exists()
    assert reviewer_client.post(PROFILE, {"name": "ok", "days": "30"}).status_code == 200
    with pytest.raises(CommandError, match="30 days"):
        call_command("issue_token", "rita", "--days", "31")


def test_only_an_admin_sets_the_maximum(reviewer_client):
    assert reviewer_client.post("/manage/people/token-policy", {"max_days": "3650"}).status_code == 403


def test_issue_token_in_the_owners_shell_takes_an_expiry(reviewer, capsys):
    call_command("issue_token", "rita", "--days", "7")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=reviewer)
    assert token.key_hash == hash_token(raw)
    assert close_to(token.expires_at, timezone.now() + timedelta(days=7))
