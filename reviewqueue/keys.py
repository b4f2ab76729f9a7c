"""The keys derived for each purpose, and the retired ones that still open what they sealed.

Each purpose has its own key: HKDF-SHA256 of its material under the purpose's own label, so one
derived key tells nothing of SECRET_KEY or of another purpose's key. The material is the purpose's
setting (FIELD_ENCRYPTION_KEY, AUDIT_SIGNING_KEY) when set, else SECRET_KEY.

Retired keys come from the purpose's *_FALLBACKS and from SECRET_KEY_FALLBACKS, each derived the same
way. So do the derivations used before this one (LEGACY below), for every material: what an older
release stored still decrypts and verifies, until `manage.py rotate_keys` moves it to the current key.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@dataclass(frozen=True)
class Purpose:
    setting: str  # the variable that sets its material explicitly
    label: str  # HKDF's info: the same material gives each purpose a different key


FIELD_ENCRYPTION = Purpose("FIELD_ENCRYPTION_KEY", "reviewqueue field encryption v1")
AUDIT_SIGNING = Purpose("AUDIT_SIGNING_KEY", "reviewqueue audit signing v1")


@dataclass(frozen=True)
class Key:
    id: str  # names the key without revealing it (a checkpoint records which key signed it)
    secret: bytes


def _key(secret: bytes) -> Key:
    return Key(hmac.new(secret, b"reviewqueue key id", hashlib.sha256).hexdigest()[:16], secret)


def derive(material: str, purpose: Purpose) -> Key:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.label.encode())
    return _key(hkdf.derive(material.encode()))


def _materials(purpose: Purpose) -> list[str]:
    """The current material first, then the retired ones, newest first."""
    current = getattr(settings, purpose.setting) or settings.SECRET_KEY
    retired = [*getattr(settings, f"{purpose.setting}_FALLBACKS"), *settings.SECRET_KEY_FALLBACKS]
    return list(dict.fromkeys([current, *retired]))


def current_key(purpose: Purpose) -> Key:
    return derive(_materials(purpose)[0], purpose)


def retired_keys(purpose: Purpose) -> list[Key]:
    return [derive(material, purpose) for material in _materials(purpose)[1:]]


# Before keys were derived with HKDF: checkpoints were signed with the material itself, and secrets
# encrypted under one SHA-256 of the material with a prefix (both kept in the field with an empty key id).
def legacy_audit_signing_keys() -> list[Key]:
    return [Key("", material.encode()) for material in _materials(AUDIT_SIGNING)]


def legacy_field_encryption_keys() -> list[Key]:
    return [
        Key("", hashlib.sha256(b"reviewqueue.field-encryption:" + material.encode()).digest())
        for material in _materials(FIELD_ENCRYPTION)
    ]


def fernet_key(key: Key) -> bytes:
    """Fernet's spelling of a 32-byte key."""
    return base64.urlsafe_b64encode(key.secret)
