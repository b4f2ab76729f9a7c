"""Secrets at rest (webhook signing secrets), encrypted under the field-encryption key (reviewqueue/keys.py).

New secrets are encrypted with the current key; ones stored under a retired key (or an older release's
derivation) still decrypt, and `manage.py rotate_keys` re-encrypts them with the current one
(secrets_reencrypt, the one write here: it belongs with the keys it rotates; sla and callbacks
use it for their secrets).
"""

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.db import transaction
from django.db.models import Model, QuerySet

from reviewqueue import keys
from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.routing.models import Mailbox


class SecretUnreadable(Exception):
    """No key we hold decrypts the stored secret: it was stored under a key since dropped (or is damaged)."""


def _fernet() -> MultiFernet:
    purpose = keys.FIELD_ENCRYPTION
    held = [keys.current_key(purpose), *keys.retired_keys(purpose), *keys.legacy_field_encryption_keys()]
    return MultiFernet([Fernet(keys.fernet_key(key)) for key in held])


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable(
            "no key decrypts it: FIELD_ENCRYPTION_KEY (or SECRET_KEY) changed and the old one is not "
            "among the *_FALLBACKS"
        ) from error


def secret_reencrypt(stored: str) -> str:
    """The same secret under the current key (raises SecretUnreadable when no key we hold opens it)."""
    try:
        return _fernet().rotate(stored.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("no key decrypts it") from error


@dataclass(frozen=True)
class SecretsRotation:
    reencrypted: list[str]  # mailbox ids
    unreadable: list[str]


def secrets_reencrypt(
    rows: QuerySet, *, field: str, label: Callable[[Model], str], action: str, actor: Actor
) -> SecretsRotation:
    """Re-encrypt the secret in `field` of every row of `rows` under the current key, locked, audited as
    `action`. A secret no key opens is left as it is and reported by `label(row)`, as are those rotated."""
    reencrypted, unreadable = [], []
    with transaction.atomic():
        for row in rows.select_for_update():
            try:
                token = secret_reencrypt(getattr(row, field))
            except SecretUnreadable:
                unreadable.append(label(row))
                continue
            rows.model.objects.filter(pk=row.pk).update(**{field: token})
            reencrypted.append(label(row))
        audit_record(actor=actor, action=action, payload={"reencrypted": reencrypted, "unreadable": unreadable})
    return SecretsRotation(reencrypted, unreadable)


def webhook_secrets_reencrypt(*, actor: Actor) -> SecretsRotation:
    """Re-encrypt every stored webhook secret under the current key (after a rotation), audited.

    A secret no key opens is left as it is and reported: its subscription must be renewed.
    """
    return secrets_reencrypt(
        Mailbox.objects.exclude(webhook_secret_encrypted="").order_by("mailbox_id"),
        field="webhook_secret_encrypted",
        label=lambda mailbox: mailbox.mailbox_id,
        action="keys.webhook_secrets_reencrypted",
        actor=actor,
    )
