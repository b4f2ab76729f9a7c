"""X-MultiMail-Identity checks: valid, tampered claim, tampered signature, wrong key, DER and raw
signatures, no header; the key as JWK, JWK set or PEM."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reviewqueue.oversight.identity import SigningKeyUnreadable, claim_verify, public_key_from_document
from reviewqueue.sandbox.multimail.identity import b64url, sign_claim

CLAIM = {"ai_generated": True, "email_id": "em_1", "operator": "Fernhill", "oversight_mode": "gated_send"}


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def jwk(private) -> str:
    numbers = private.public_key().public_numbers()
    return json.dumps({"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
                       "y": b64url(numbers.y.to_bytes(32, "big"))})  # fmt: skip


def pem(private) -> str:
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode("ascii")


def test_a_valid_raw_signature_verifies_and_shows_the_claim(key):
    check = claim_verify(sign_claim(key, CLAIM), public_key_from_document(jwk(key)))
    assert check.present and check.valid and check.claim == CLAIM


def test_a_der_signature_verifies_too(key):
    payload = b64url(json.dumps(CLAIM, sort_keys=True).encode())
    der = key.sign(payload.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    assert len(der) != 64
    assert claim_verify(f"{payload}.{b64url(der)}", public_key_from_document(pem(key))).valid


def test_a_signature_over_the_json_bytes_is_accepted(key):
    raw_json = json.dumps(CLAIM, sort_keys=True).encode()
    der = key.sign(raw_json, ec.ECDSA(hashes.SHA256()))
    assert claim_verify(f"{b64url(raw_json)}.{b64url(der)}", public_key_from_document(pem(key))).valid


def test_a_tampered_claim_fails_but_its_fields_are_still_shown(key):
    _payload, signature = sign_claim(key, CLAIM).split(".")
    forged = b64url(json.dumps({**CLAIM, "operator": "Evil Corp"}, sort_keys=True).encode())
    check = claim_verify(f"{forged}.{signature}", public_key_from_document(jwk(key)))
    assert check.present and not check.valid and check.claim["operator"] == "Evil Corp"
    assert "does not verify" in check.problem


def test_a_tampered_signature_fails(key):
    payload, signature = sign_claim(key, CLAIM).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    assert not claim_verify(f"{payload}.{b64url(bytes(raw))}", public_key_from_document(jwk(key))).valid


def test_a_claim_signed_with_another_key_fails(key):
    other = ec.generate_private_key(ec.SECP256R1())
    assert not claim_verify(sign_claim(other, CLAIM), public_key_from_document(jwk(key))).valid


def test_no_header_is_no_claim(key):
    check = claim_verify(None, public_key_from_document(jwk(key)))
    assert not check.present and not check.valid
    assert not claim_verify("  ", public_key_from_document(jwk(key))).present


@pytest.mark.parametrize("header", ["no-dot-here", "a.b.c", "!!!.???", b64url(b"[1]") + ".AAAA"])
def test_a_malformed_claim_is_named_not_raised(key, header):
    check = claim_verify(header, public_key_from_document(jwk(key)))
    assert check.present and not check.valid and check.problem


def test_the_key_document_may_be_a_jwk_set_or_pem_inside_json(key):
    as_set = json.dumps({"keys": [json.loads(jwk(key))]})
    inside = json.dumps({"kid": "k1", "pem": pem(key)})
    header = sign_claim(key, CLAIM)
    assert claim_verify(header, public_key_from_document(as_set)).valid
    assert claim_verify(header, public_key_from_document(inside)).valid


@pytest.mark.parametrize("document", ["", "not a key", "{}", '{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}'])
def test_an_unreadable_key_document_says_why(document):
    with pytest.raises(SigningKeyUnreadable):
        public_key_from_document(document)
