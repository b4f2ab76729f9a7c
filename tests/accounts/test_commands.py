import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from reviewqueue.accounts.models import ApiToken, hash_token
from reviewqueue.accounts.roles import user_has_role
from reviewqueue.audit.models import AuditEvent


def test_grant_role_creates_the_user_and_audits_it(db, capsys):
    call_command("grant_role", "newbie", "auditor")
    user = get_user_model().objects.get(username="newbie")
    assert user_has_role(user, "auditor")
    assert not user_has_role(user, "reviewer")
    assert not user.has_usable_password()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["user.created", "role.granted"]
    assert "role auditor granted" in capsys.readouterr().out


def test_grant_role_sets_a_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("NEWBIE_PASSWORD", "a-long-enough-password-42")
    call_command("grant_role", "newbie", "reviewer", "--password-env", "NEWBIE_PASSWORD")
    assert Client().login(username="newbie", password="a-long-enough-password-42")


def test_grant_role_refuses_an_empty_password_variable(db, monkeypatch):
    monkeypatch.delenv("MISSING_VAR", raising=False)
    with pytest.raises(CommandError, match="MISSING_VAR is empty or not set"):
        call_command("grant_role", "newbie", "reviewer", "--password-env", "MISSING_VAR")
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_grant_role_refuses_an_unknown_role(db):
    with pytest.raises(CommandError):
        call_command("grant_role", "newbie", "superhero")


def test_granting_a_held_role_again_changes_nothing(reviewer):
    before = AuditEvent.objects.count()
    call_command("grant_role", "rita", "reviewer")
    assert AuditEvent.objects.count() == before


def test_issue_token_prints_a_key_stored_only_as_its_hash(reviewer, capsys):
    call_command("issue_token", "rita")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("rqp_") and len(raw) > 40
    token = ApiToken.objects.get(user=reviewer)
    assert token.key_hash == hash_token(raw)
    assert raw not in str(ApiToken.objects.values().get())


def test_issue_token_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no active user named 'ghost'"):
        call_command("issue_token", "ghost")
