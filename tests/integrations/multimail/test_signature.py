"""The one signature function: hex HMAC-SHA256 of the raw body keyed by the whole whsec_ secret."""

import hashlib
import hmac

from reviewqueue.integrations.multimail.signature import sign, verify_signature

SECRET = "whsec_test_secret"
BODY = b'{"event_type":"oversight.pending","message_id":"em_1"}'


def test_sign_is_lowercase_hex_hmac_sha256_keyed_by_the_whole_secret():
    expected = hmac.new(b"whsec_test_secret", BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, SECRET) == expected


def test_verify_accepts_bare_and_sha256_prefixed_signatures():
    assert verify_signature(BODY, sign(BODY, SECRET), SECRET)
    assert verify_signature(BODY, "sha256=" + sign(BODY, SECRET), SECRET)


def test_verify_refuses_tampered_body_wrong_secret_and_missing_header():
    signature = sign(BODY, SECRET)
    assert not verify_signature(BODY + b" ", signature, SECRET)
    assert not verify_signature(BODY, signature, "whsec_other")
    assert not verify_signature(BODY, None, SECRET)
    assert not verify_signature(BODY, "", SECRET)
    assert not verify_signature(BODY, signature, "")
    assert not verify_signature(BODY, sign(BODY, SECRET.removeprefix("whsec_")), SECRET)
