"""manage.py issue_intake_token NAME --callback-url URL: the token, then `callback secret: whsec_…`."""

import io

import pytest
from django.core.management import CommandError, call_command

from reviewqueue.callbacks import services
from reviewqueue.callbacks.models import CallbackEndpoint
from reviewqueue.routing.models import IntakeToken

pytestmark = pytest.mark.django_db


def issue(*args) -> list[str]:
    out = io.StringIO()
    call_command("issue_intake_token", *args, stdout=out)
    return out.getvalue().splitlines()


def test_with_a_callback_url_it_prints_the_token_then_the_secret(lenient):
    token_line, secret_line = issue("refund agent", "--callback-url", "http://127.0.0.1:8765/callbacks")
    assert token_line.startswith(IntakeToken.PREFIX)
    assert secret_line.startswith("callback secret: whsec_")
    token = IntakeToken.objects.get(name="refund agent")
    endpoint = CallbackEndpoint.objects.get(token=token)
    assert endpoint.url == "http://127.0.0.1:8765/callbacks"
    assert services.endpoint_secret(endpoint) == secret_line.removeprefix("callback secret: ")


def test_without_one_it_prints_only_the_token():
    [token_line] = issue("plain agent")
    assert token_line.startswith(IntakeToken.PREFIX)
    assert not CallbackEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://agent.example.com/cb", "--callback-url: the URL must start with https://"),
        ("https://10.1.2.3/cb", "--callback-url: 10.1.2.3 is a private or reserved address"),
        ("https://localhost/cb", "localhost resolves to .*, a loopback address"),
    ],
)
def test_a_refused_url_is_a_clear_message_and_issues_nothing(settings, url, message):
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(CommandError, match=message):
        issue("refused agent", "--callback-url", url)
    assert not IntakeToken.objects.exists()
    assert not CallbackEndpoint.objects.exists()
