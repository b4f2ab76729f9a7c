"""The sandbox's X-MultiMail-Identity: a claim about who sent a mail, signed with the sandbox's own
ECDSA P-256 key, the key served at /.well-known/multimail-signing-key, and sent mail exported as .eml.

Shape (contracts/multimail-notes.md, "Identity header"): base64url of the claim's JSON (sorted keys,
so `ai_generated` comes first), a dot, and base64url of the ECDSA P-256 / SHA-256 signature (raw
r‖s, 64 bytes, as JWS ES256) over the ASCII of the first part.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from markdown_it import MarkdownIt

from reviewqueue.sandbox.multimail.common import SandboxError

OPERATOR = "Fernhill Outdoor (sandbox)"
CAPABILITIES = ["send", "receive"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Identity:
    """Part of SandboxState (state.py): the key lives in its data, so it survives restarts."""

    def signing_key(self) -> ec.EllipticCurvePrivateKey:
        with self.lock:
            loaded = getattr(self, "_signing_key", None)
            if loaded is not None and loaded[0] == self.data.get("signing_key_pem"):
                return loaded[1]
            pem = self.data.get("signing_key_pem")
            if not pem:
                key = ec.generate_private_key(ec.SECP256R1())
                pem = key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ).decode("ascii")
                self.data["signing_key_pem"] = pem
                self.save()
            key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
            self._signing_key = (pem, key)
            return key

    def public_key_document(self) -> dict:
        """A JWK (kty EC, crv P-256, x, y, kid) with the same key as PEM beside it."""
        public = self.signing_key().public_key()
        numbers = public.public_numbers()
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return {
            "kty": "EC",
            "crv": "P-256",
            "alg": "ES256",
            "use": "sig",
            "kid": hashlib.sha256(der).hexdigest()[:16],
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
            "pem": pem.decode("ascii"),
        }

    def identity_stamp(self, email: dict) -> None:
        """Sign the identity claim of a mail that is leaving (called with the lock held)."""
        mailbox = self.data["mailboxes"].get(email["mailbox_id"], {})
        claim = {
            "ai_generated": True,
            "capabilities": CAPABILITIES,
            "email_id": email["id"],
            "iat": int(self.clock()),
            "mailbox": email["from"],
            "operator": OPERATOR,
            "oversight_mode": mailbox.get("oversight_mode", "gated_send"),
            "service": "multimail",
            "verified_operator": True,
        }
        email["identity"] = sign_claim(self.signing_key(), claim)
        email["sent_at"] = self.clock()

    def email_eml(self, *, email_id: str) -> bytes:
        """A sent email as the recipient's mail client would save it (RFC 5322, text and HTML parts)."""
        with self.lock:
            email = self.data["emails"].get(email_id)
            if email is None or email.get("direction") != "outbound":
                raise SandboxError(404, "Email not found")
            if not email.get("identity"):
                raise SandboxError(409, "Email has not been sent")
            message = EmailMessage()
            message["From"] = email["from"]
            message["To"] = ", ".join(email["to"])
            if email.get("cc"):
                message["Cc"] = ", ".join(email["cc"])
            message["Subject"] = email["subject"]
            message["Date"] = format_datetime(datetime.fromtimestamp(email.get("sent_at") or self.clock(), UTC))
            message["Message-ID"] = make_msgid(idstring=email["id"], domain="multimail.sandbox")
            message["X-MultiMail-Identity"] = email["identity"]
            message.set_content(email["markdown"])
            message.add_alternative(MarkdownIt("commonmark", {"html": False}).render(email["markdown"]), subtype="html")
            return bytes(message)


def sign_claim(key: ec.EllipticCurvePrivateKey, claim: dict) -> str:
    payload = b64url(json.dumps(claim, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    r, s = decode_dss_signature(key.sign(payload.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    return payload + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
