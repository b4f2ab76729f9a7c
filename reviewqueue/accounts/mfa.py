"""Two-factor sign-in: TOTP through django-otp, with one-time recovery codes stored hashed.

Who must use it: TWO_FACTOR_REQUIRED ("admins": admins signing in with a password; "everyone"); anyone
may enrol, and once enrolled is always asked. Sign-in through the identity provider relies on its MFA.
django-otp's own static-token plugin keeps codes in clear text, so recovery codes are kept here, hashed.
"""

import base64
import hashlib
import secrets
from base64 import b32encode
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewqueue.accounts.models import RecoveryCode
from reviewqueue.accounts.roles import user_has_role
from reviewqueue.audit.services import Actor, RequestOrigin, audit_record

RECOVERY_CODE_COUNT = 10
DEVICE_NAME = "authenticator app"


def two_factor_required(user) -> bool:
    return settings.TWO_FACTOR_REQUIRED == "everyone" or user_has_role(user, "admin")


def two_factor_enrolled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_needed(user) -> bool:
    """Whether a password sign-in of `user` must also give a code (enrolling first when required)."""
    return two_factor_enrolled(user) or two_factor_required(user)


# --- enrolment -----------------------------------------------------------------------------------


def enrolment_device(user) -> TOTPDevice:
    """The person's unconfirmed authenticator, made with a fresh secret when they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def manual_key(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in (base32, in groups of four)."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code, inline (the page's CSP allows data: images only)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@transaction.atomic
def enrolment_confirm(*, user, device: TOTPDevice, code: str, origin: RequestOrigin | None = None) -> list[str] | None:
    """Confirm the authenticator with a code it shows; returns the new recovery codes (shown once), or
    None when the code is wrong."""
    if device.user_id != user.pk or device.confirmed or not device.verify_token(_digits(code)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_replace(user)
    audit_record(
        actor=Actor.person(user),
        action="two_factor.enrolled",
        target_type="user",
        target_id=user.pk,
        payload={"username": user.get_username(), "recovery_codes": len(codes)},
        origin=origin,
    )
    return codes


# --- recovery codes ------------------------------------------------------------------------------


def _code_hash(code: str) -> str:
    # 80 random bits per code: a fast hash is enough to make a stolen table useless (as for tokens).
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


def _normalised(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _new_code() -> str:
    raw = b32encode(secrets.token_bytes(10)).decode()  # 16 characters, 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _recovery_codes_replace(user) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [_new_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_code_hash(code)) for code in codes)
    return codes


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def recovery_codes_renew(*, user, origin: RequestOrigin | None = None) -> list[str]:
    codes = _recovery_codes_replace(user)
    audit_record(
        actor=Actor.person(user),
        action="two_factor.recovery_codes_renewed",
        target_type="user",
        target_id=user.pk,
        payload={"username": user.get_username()},
        origin=origin,
    )
    return codes


# --- verification at sign-in ---------------------------------------------------------------------


def _digits(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace())


def code_verify(*, user, code: str, origin: RequestOrigin | None = None) -> str | None:
    """Check a sign-in code: "totp" or "recovery" when it is good (a recovery code is then used up), None
    when not."""
    code = code.strip()
    if not code:
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None and _digits(code).isdigit() and device.verify_token(_digits(code)):
        return "totp"
    if _recovery_code_use(user=user, code=code, origin=origin):
        return "recovery"
    return None


@transaction.atomic
def _recovery_code_use(*, user, code: str, origin: RequestOrigin | None) -> bool:
    used = RecoveryCode.objects.filter(user=user, code_hash=_code_hash(code), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if used:
        audit_record(
            actor=Actor.person(user),
            action="two_factor.recovery_code_used",
            target_type="user",
            target_id=user.pk,
            payload={"username": user.get_username(), "left": recovery_codes_left(user)},
            origin=origin,
        )
    return bool(used)


# --- reset by another admin ----------------------------------------------------------------------


class ResetRefused(PermissionError):
    pass


@transaction.atomic
def two_factor_reset(*, user, actor_user, origin: RequestOrigin | None = None) -> bool:
    """A lost device: another admin removes the person's authenticator and recovery codes; they enrol
    again at their next password sign-in. False when there was nothing to remove."""
    if actor_user.pk == user.pk:
        raise ResetRefused("your own two-factor is reset by another admin")
    if not user_has_role(actor_user, "admin"):
        raise ResetRefused("only an admin resets two-factor")
    devices, _ = TOTPDevice.objects.filter(user=user).delete()
    codes, _ = RecoveryCode.objects.filter(user=user).delete()
    if not (devices or codes):
        return False
    audit_record(
        actor=Actor.person(actor_user),
        action="two_factor.reset",
        target_type="user",
        target_id=user.pk,
        payload={"username": user.get_username()},
        origin=origin,
    )
    return True
