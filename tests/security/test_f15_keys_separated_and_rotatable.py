"""Finding 15: keys were not separated and could not rotate.

AUDIT_SIGNING_KEY was SECRET_KEY itself and FIELD_ENCRYPTION_KEY one SHA-256 of it; changing
SECRET_KEY made every stored webhook secret unreadable (skipped silently, so every webhook became a
401) and every audit checkpoint "forged". Now each key is derived with HKDF under its own label,
explicit keys must be 32+ bytes, retired keys (SECRET_KEY_FALLBACKS, *_FALLBACKS) and the previous
release's derivation still decrypt and verify, checkpoints name the key that signed them,
`manage.py rotate_keys` re-encrypts stored secrets, and a secret no key opens is logged and shown.
"""

import base64
import hashlib
import hmac
import logging
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.urls import reverse

from reviewqueue.audit.models import AuditCheckpoint, AuditEvent
from reviewqueue.audit.services import audit_checkpoint_store
from reviewqueue.audit.verify import Problem, verify_chain
from reviewqueue.routing.crypto import secret_decrypt, secret_encrypt
from reviewqueue.routing.models import Mailbox
from tests.audit.chain_helpers import seed_log

ROOT = Path(__file__).resolve().parents[2]
OLD_SECRET_KEY = "the-secret-key-of-last-year-0123456789-abcdefghijkl"
NEW_SECRET_KEY = "the-secret-key-of-this-year-0123456789-mnopqrstuvwx"


def legacy_fernet(material: str) -> Fernet:
    """How the previous release encrypted secrets at rest (one SHA-256 of the key, with a prefix)."""
    digest = hashlib.sha256(b"reviewqueue.field-encryption:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def legacy_checkpoint_signature(material: str, checkpoint) -> str:
    """How the previous release signed checkpoints: HMAC keyed by SECRET_KEY itself."""
    when = checkpoint.created_at.isoformat(timespec="microseconds")
    message = f"reviewqueue-audit-checkpoint\n{checkpoint.seq}\n{checkpoint.head_hash}\n{when}"
    return hmac.new(material.encode(), message.encode(), hashlib.sha256).hexdigest()


def stored_mailbox(token: str, mailbox_id: str = "mb_1") -> Mailbox:
    return Mailbox.objects.create(mailbox_id=mailbox_id, address=f"{mailbox_id}@x.test", webhook_secret_encrypted=token)


def test_neither_key_is_the_secret_key_nor_one_hash_of_it(db, settings):
    seed_log(2)
    checkpoint = audit_checkpoint_store()
    assert checkpoint.signature != legacy_checkpoint_signature(settings.SECRET_KEY, checkpoint)
    assert checkpoint.key_id  # names the key that signed it
    token = secret_encrypt("whsec_1").encode()
    with pytest.raises(InvalidToken):
        legacy_fernet(settings.SECRET_KEY).decrypt(token)


def test_the_two_derived_keys_differ_and_follow_the_secret_key(settings):
    from reviewqueue import keys

    audit, field = keys.current_key(keys.AUDIT_SIGNING), keys.current_key(keys.FIELD_ENCRYPTION)
    assert audit.secret != field.secret and len(audit.secret) == len(field.secret) == 32
    assert settings.SECRET_KEY.encode() not in (audit.secret, field.secret)
    settings.SECRET_KEY = NEW_SECRET_KEY
    assert keys.current_key(keys.AUDIT_SIGNING) != audit


@pytest.mark.parametrize("variable", ["FIELD_ENCRYPTION_KEY", "AUDIT_SIGNING_KEY", "SECRET_KEY_FALLBACKS"])
def test_explicit_keys_shorter_than_32_bytes_stop_start_up(variable):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "reviewqueue.settings", variable: "too-short-a-key"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert variable in result.stderr and "32 bytes" in result.stderr


def test_stored_secrets_still_decrypt_after_the_secret_key_is_rotated(db, settings):
    settings.SECRET_KEY = OLD_SECRET_KEY
    stored_mailbox(secret_encrypt("whsec_kept"))
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET_KEY, [OLD_SECRET_KEY]
    assert secret_decrypt(Mailbox.objects.get().webhook_secret_encrypted) == "whsec_kept"

    call_command("rotate_keys", stdout=StringIO())
    settings.SECRET_KEY_FALLBACKS = []  # the old key can now be dropped
    assert secret_decrypt(Mailbox.objects.get().webhook_secret_encrypted) == "whsec_kept"


def test_an_explicit_field_key_rotates_through_its_fallbacks(db, settings):
    settings.FIELD_ENCRYPTION_KEY = "an-explicit-field-encryption-key-of-40-bytes"
    token = secret_encrypt("whsec_explicit")
    settings.FIELD_ENCRYPTION_KEY = "the-next-explicit-field-encryption-key-40b"
    settings.FIELD_ENCRYPTION_KEY_FALLBACKS = ["an-explicit-field-encryption-key-of-40-bytes"]
    assert secret_decrypt(token) == "whsec_explicit"


def test_secrets_stored_by_the_previous_release_decrypt_and_rotate_keys_moves_them(db, settings):
    legacy = legacy_fernet(settings.SECRET_KEY)
    stored_mailbox(legacy.encrypt(b"whsec_from_last_release").decode())
    assert secret_decrypt(Mailbox.objects.get().webhook_secret_encrypted) == "whsec_from_last_release"

    call_command("rotate_keys", stdout=StringIO())

    rotated = Mailbox.objects.get().webhook_secret_encrypted
    assert secret_decrypt(rotated) == "whsec_from_last_release"
    with pytest.raises(InvalidToken):
        legacy.decrypt(rotated.encode())  # under the new key now
    event = AuditEvent.objects.get(action="keys.webhook_secrets_reencrypted")
    assert event.payload == {"reencrypted": ["mb_1"], "unreadable": []}


def test_checkpoints_verify_after_a_rotation_with_the_retired_key_and_not_without_it(db, settings):
    settings.SECRET_KEY = OLD_SECRET_KEY
    seed_log(3)
    old = audit_checkpoint_store()
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET_KEY, [OLD_SECRET_KEY]
    seed_log(2, seed=8)
    new = audit_checkpoint_store()
    assert old.key_id != new.key_id

    assert verify_chain().intact
    call_command("verify_audit", stdout=StringIO())  # exits 1 when not intact

    settings.SECRET_KEY_FALLBACKS = []
    result = verify_chain()
    assert (result.problem, result.first_bad_seq) == (Problem.CHECKPOINT_FORGED, old.seq)
    assert old.key_id in result.detail


def test_an_explicit_audit_key_rotates_through_its_fallbacks(db, settings):
    settings.AUDIT_SIGNING_KEY = "an-explicit-audit-signing-key-of-40-bytes!"
    seed_log(2)
    audit_checkpoint_store()
    settings.AUDIT_SIGNING_KEY = "the-next-explicit-audit-signing-key-40-b!"
    assert verify_chain().problem == Problem.CHECKPOINT_FORGED
    settings.AUDIT_SIGNING_KEY_FALLBACKS = ["an-explicit-audit-signing-key-of-40-bytes!"]
    assert verify_chain().intact


def test_checkpoints_signed_by_the_previous_release_still_verify(db, settings):
    seed_log(3)
    signed = audit_checkpoint_store()
    legacy = AuditCheckpoint(seq=signed.seq, head_hash=signed.head_hash, created_at=signed.created_at)
    legacy.signature = legacy_checkpoint_signature(settings.SECRET_KEY, legacy)
    legacy.save()  # no key id: made before checkpoints named their key
    assert verify_chain().intact


def test_a_secret_no_key_decrypts_is_logged_and_shown_on_the_health_page(client, admin_user, caplog):
    stored_mailbox(Fernet(Fernet.generate_key()).encrypt(b"whsec_lost").decode(), mailbox_id="mb_lost")
    stored_mailbox(secret_encrypt("whsec_fine"), mailbox_id="mb_fine")
    client.force_login(admin_user)
    with caplog.at_level(logging.ERROR):
        page = client.get(reverse("routing:health"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "No key decrypts the stored webhook secret of mb_lost" in text and "mb_fine" not in text
    assert any("mb_lost" in record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR)


def test_rotate_keys_names_a_secret_no_key_decrypts(db):
    stored_mailbox(Fernet(Fernet.generate_key()).encrypt(b"whsec_lost").decode(), mailbox_id="mb_lost")
    with pytest.raises(CommandError, match="mb_lost"):
        call_command("rotate_keys", stdout=StringIO())
