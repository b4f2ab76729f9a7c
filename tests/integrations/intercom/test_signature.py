from reviewqueue.integrations.intercom.signature import sign, verify_signature

BODY = b'{"type":"notification_event","id":"notif_1","topic":"ping"}'


def test_sign_matches_hmac_sha1_hex_of_raw_body():
    # Computed independently: printf '%s' "$BODY" | openssl dgst -sha1 -hmac secret
    import hashlib
    import hmac

    assert sign(BODY, "secret") == "sha1=" + hmac.new(b"secret", BODY, hashlib.sha1).hexdigest()
    assert len(sign(BODY, "secret")) == len("sha1=") + 40


def test_correct_signature_verifies():
    assert verify_signature(BODY, sign(BODY, "secret"), "secret")


def test_uppercase_hex_is_accepted_as_the_same_digest():
    assert verify_signature(BODY, sign(BODY, "secret").upper().replace("SHA1=", "sha1="), "secret")


def test_wrong_secret_missing_header_and_changed_body_are_refused():
    assert not verify_signature(BODY, sign(BODY, "other"), "secret")
    assert not verify_signature(BODY, None, "secret")
    assert not verify_signature(BODY, "", "secret")
    assert not verify_signature(BODY + b" ", sign(BODY, "secret"), "secret")


def test_sha256_scheme_is_refused_even_with_a_valid_sha256_hmac():
    import hashlib
    import hmac

    header = "sha256=" + hmac.new(b"secret", BODY, hashlib.sha256).hexdigest()
    assert not verify_signature(BODY, header, "secret")


def test_bare_hex_without_scheme_and_empty_secret_are_refused():
    assert not verify_signature(BODY, sign(BODY, "secret").removeprefix("sha1="), "secret")
    assert not verify_signature(BODY, sign(BODY, ""), "")
