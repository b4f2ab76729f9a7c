import pytest
from django.core.management import call_command

from reviewqueue.audit.models import AuditCheckpoint, AuditVerification
from reviewqueue.audit.tasks import audit_checkpoint

from .chain_helpers import drop_triggers, execute, seed_log


def test_an_intact_log_exits_zero_and_says_so(db, capsys):
    seed_log(4)
    call_command("verify_audit")
    assert "audit log intact: 4 events checked, head #4" in capsys.readouterr().out
    verification = AuditVerification.objects.get()
    assert verification.status == "intact" and verification.started_by_label == "verify_audit command"


def test_a_tampered_log_exits_non_zero_naming_the_first_bad_event(db, capsys):
    seed_log(5)
    drop_triggers()
    execute("UPDATE audit_auditevent SET action = 'forged' WHERE seq = 3")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit")
    assert exit_info.value.code == 1
    assert "audit log BROKEN at event #3: changed" in capsys.readouterr().err
    assert AuditVerification.objects.get().first_bad_seq == 3


def test_the_checkpoint_option_signs_the_head_after_an_intact_walk(db, capsys):
    seed_log(3)
    call_command("verify_audit", "--checkpoint")
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.seq == 3
    assert f"checkpoint stored at #3 {checkpoint.head_hash}" in capsys.readouterr().out


def test_the_checkpoint_option_refuses_to_sign_a_broken_chain(db):
    seed_log(3)
    drop_triggers()
    execute("DELETE FROM audit_auditevent WHERE seq = 2")
    with pytest.raises(SystemExit):
        call_command("verify_audit", "--checkpoint")
    assert not AuditCheckpoint.objects.exists()


def test_a_cut_tail_is_found_against_the_hourly_checkpoint(db, capsys):
    seed_log(6)
    assert audit_checkpoint() == 6
    drop_triggers()
    execute("DELETE FROM audit_auditevent WHERE seq >= 5")
    with pytest.raises(SystemExit):
        call_command("verify_audit")
    assert "BROKEN at event #5: truncated" in capsys.readouterr().err


def test_the_hourly_checkpoint_task_does_nothing_on_an_empty_log(db):
    assert audit_checkpoint() is None
    assert not AuditCheckpoint.objects.exists()
