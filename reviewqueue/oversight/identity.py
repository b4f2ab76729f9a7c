"""Verifying an X-MultiMail-Identity claim: base64url JSON, a dot, an ECDSA P-256 / SHA-256 signature.

The signature is accepted as raw r‖s (64 bytes, as JWS ES256) or DER; the key as a JWK (also inside
{"keys": [...]}) or PEM (also inside {"pem": ...} / {"public_key": ...}). What is signed is the ASCII of
the claim's base64url part (as JWS); a signature over the decoded JSON bytes is accepted too, as the
notes do not say which (contracts/multimail-notes.md, "Identity header").
"""

import base64
import binascii
import json
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

HEADER = "X-MultiMail-Identity"


class SigningKeyUnreadable(ValueError):
    pass


@dataclass(frozen=True)
class ClaimCheck:
    """present: a header was there; valid: its signature verifies; claim: the decoded fields (even when invalid)."""

    present: bool
    valid: bool = False
    claim: dict = field(default_factory=dict)
    problem: str = ""


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_from_document(document: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key in MultiMail's key document: JWK, JWK set, PEM, or PEM inside JSON."""
    text = document.strip()
    if text.startswith("-----BEGIN"):
        return _from_pem(text)
    try:
        data = json.loads(text)
    except ValueError:
        raise SigningKeyUnreadable("the signing key document is neither JSON nor PEM") from None
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        data = next((k for k in data["keys"] if isinstance(k, dict) and k.get("crv") == "P-256"), None)
    if not isinstance(data, dict):
        raise SigningKeyUnreadable("the signing key document holds no P-256 key")
    if data.get("kty") == "EC":
        return _from_jwk(data)
    for name in ("pem", "public_key", "publicKey", "key"):
        if isinstance(data.get(name), str) and data[name].strip().startswith("-----BEGIN"):
            return _from_pem(data[name])
    raise SigningKeyUnreadable("the signing key document holds no JWK or PEM key")


def _from_pem(text: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise SigningKeyUnreadable(f"the PEM key cannot be read ({exc})") from None
    return _p256(key)


def _from_jwk(jwk: dict) -> ec.EllipticCurvePublicKey:
    if jwk.get("crv") != "P-256":
        raise SigningKeyUnreadable(f"the JWK's curve is {jwk.get('crv')!r}, not P-256")
    try:
        x, y = (int.from_bytes(b64url_decode(str(jwk[name])), "big") for name in ("x", "y"))
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except (KeyError, ValueError, binascii.Error) as exc:
        raise SigningKeyUnreadable(f"the JWK cannot be read ({exc})") from None


def _p256(key) -> ec.EllipticCurvePublicKey:
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyUnreadable("the signing key is not an ECDSA P-256 key")
    return key


def decode_claim(header: str) -> tuple[str, dict, bytes]:
    """(the base64url claim part, the claim, the signature bytes); ValueError says what is malformed."""
    value = "".join(header.split())  # a folded header carries whitespace
    if value.count(".") != 1:
        raise ValueError("the claim is not two base64url parts joined by a dot")
    encoded, signature = value.split(".")
    try:
        claim = json.loads(b64url_decode(encoded))
        signature_bytes = b64url_decode(signature)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError("the claim or its signature is not valid base64url JSON") from None
    if not isinstance(claim, dict):
        raise ValueError("the claim is not a JSON object")
    return encoded, claim, signature_bytes


def _der(signature: bytes) -> bytes:
    """DER as it is, raw r‖s (64 bytes) turned into DER."""
    if len(signature) == 64:
        return encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    return signature


def claim_verify(header: str | None, key: ec.EllipticCurvePublicKey) -> ClaimCheck:
    if not header or not header.strip():
        return ClaimCheck(present=False)
    try:
        encoded, claim, signature = decode_claim(header)
    except ValueError as exc:
        return ClaimCheck(present=True, problem=str(exc))
    der = _der(signature)
    for signed in (encoded.encode("ascii"), b64url_decode(encoded)):
        try:
            key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            continue
        return ClaimCheck(present=True, valid=True, claim=claim)
    return ClaimCheck(present=True, claim=claim, problem="the signature does not verify with MultiMail's key")
