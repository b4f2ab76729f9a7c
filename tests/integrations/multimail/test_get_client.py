"""get_multimail_client() is built from settings, one per configuration, and never shows its keys."""

import pytest

from reviewqueue.integrations.multimail.client import MultiMailNotConfigured, get_multimail_client


def test_client_follows_settings_and_is_reused_for_the_same_configuration(settings):
    settings.MULTIMAIL_API_URL = "http://127.0.0.1:9"
    settings.MULTIMAIL_API_KEY = "mm_live_one"
    settings.MULTIMAIL_SEND_API_KEY = ""
    first = get_multimail_client()
    assert get_multimail_client() is first
    assert "mm_live_one" not in repr(first) and "127.0.0.1:9" in repr(first)
    settings.MULTIMAIL_API_KEY = "mm_live_two"
    assert get_multimail_client() is not first


def test_unset_send_key_from_settings_raises_not_configured(settings):
    settings.MULTIMAIL_API_URL = "http://127.0.0.1:9"
    settings.MULTIMAIL_API_KEY = "mm_live_one"
    settings.MULTIMAIL_SEND_API_KEY = ""
    client = get_multimail_client()
    assert client.has_key("oversight") and client.has_key("read") and not client.has_key("send")
    with pytest.raises(MultiMailNotConfigured, match="MULTIMAIL_SEND_API_KEY"):
        client.send(mailbox_id="mb", to=["c@example.com"], subject="s", markdown="m")


def test_unreachable_multimail_is_unavailable_not_a_crash(settings):
    from reviewqueue.integrations.multimail.client import MultiMailUnavailable

    settings.MULTIMAIL_API_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.MULTIMAIL_API_KEY = "mm_live_three"
    client = get_multimail_client()
    client._sleep = lambda seconds: None
    with pytest.raises(MultiMailUnavailable, match="could not connect"):
        client.pending()
