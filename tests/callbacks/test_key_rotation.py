"""`manage.py rotate_keys` re-encrypts callback secrets under the current key: after it, the old key
can be dropped and the agent's secret still signs; a secret no key opens is named."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from reviewqueue.callbacks import services
from reviewqueue.callbacks.models import CallbackEndpoint
from tests.callbacks.conftest import issued_token, with_callback

pytestmark = pytest.mark.django_db

OLD_SECRET_KEY = "an-old-secret-key-that-is-long-enough-0123456789"
NEW_SECRET_KEY = "a-new-secret-key-that-is-long-enough-9876543210"


def test_the_old_key_can_be_dropped_after_rotate_keys(settings, lenient):
    settings.SECRET_KEY = OLD_SECRET_KEY
    secret = with_callback(issued_token("kept agent"), "http://127.0.0.1:9/cb")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET_KEY, [OLD_SECRET_KEY]
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    assert "callback secrets re-encrypted under the current key: 1" in out.getvalue()
    settings.SECRET_KEY_FALLBACKS = []
    assert services.endpoint_secret(CallbackEndpoint.objects.get()) == secret


def test_a_callback_secret_no_key_opens_is_named(lenient):
    with_callback(issued_token("lost agent"), "http://127.0.0.1:9/cb")
    CallbackEndpoint.objects.update(secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"whsec_x").decode())
    with pytest.raises(CommandError, match=r"callback secret of intake token\(s\) lost agent"):
        call_command("rotate_keys", stdout=StringIO())
