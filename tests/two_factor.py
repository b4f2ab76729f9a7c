"""Codes an authenticator app would show, for tests that sign admins in with a password."""

import time
from base64 import b32decode

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def key_from_manual_entry(text: str) -> bytes:
    """The secret from the key the enrolment page shows for typing in (base32 in groups of four)."""
    compact = "".join(text.split())
    return b32decode(compact + "=" * (-len(compact) % 8))


def code_for_key(key: bytes, *, steps_ahead: int = 0) -> str:
    return f"{totp(key, t0=0, step=30, digits=6, drift=steps_ahead):06d}"


def next_code(username: str) -> str:
    """A code the person's confirmed authenticator accepts now: the current step's, or, when that step
    was already used (two sign-ins within 30 s), the next one's, which the one-step tolerance allows."""
    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    now_t = int(time.time()) // device.step
    ahead = 1 if device.last_t >= now_t else 0
    return code_for_key(device.bin_key, steps_ahead=ahead)
