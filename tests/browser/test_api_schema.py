"""The whole of /api/v1 under schemathesis, against the live server (gunicorn, real worker, sandboxes).

Requests are generated from /api/v1/openapi.json itself (valid and invalid bodies, odd parameters),
sent with real tokens (a reviewer's personal token; an intake token for POST /drafts). What must
hold for every answer: never a 5xx, and nothing outside the document (status codes, content types,
bodies that match the declared schemas). The number of examples is bounded to keep this under a
couple of minutes.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.routing.services import intake_token_issue, mailboxes_sync, ruleset_save
from reviewqueue.sandbox.multimail import defaults
from tests.flow import Driver

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def api_schema(live_system, person, settings):
    """The document as the server serves it, with real tokens and a few real drafts to find."""
    settings.MULTIMAIL_API_URL = live_system.multimail_url
    settings.MULTIMAIL_ADMIN_API_KEY = defaults.ADMIN_KEY
    mailboxes_sync(actor=Actor.system("test"))
    ruleset_save(rules=[], default_mailbox_id=defaults.DEMO_MAILBOX_ID, actor=Actor.system("test"))
    reviewer = person("rita", "reviewer")
    _, personal = api_token_issue(user=reviewer, name="schemathesis", actor=Actor.system("test"))
    _, intake = intake_token_issue(name="schemathesis", actor=Actor.system("test"))
    driver = Driver(live_system)
    try:  # real drafts for GET /drafts/{id} to find (they arrive while the run goes on)
        for _ in range(3):
            driver.agent_draft()
    finally:
        driver.close()
    schema = schemathesis.openapi.from_url(f"{live_system.web_url}/api/v1/openapi.json")
    schema.tokens = {"personal": personal, "intake": intake}
    return schema


# schemathesis' own pytest integration does not load under this pytest; the same generation runs
# here through Hypothesis directly, one bounded run per operation.
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def test_api_answers_within_its_document_and_never_with_a_5xx(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"GET /drafts", "POST /drafts", "GET /drafts/{id}"}
    for operation in operations:
        _fuzz(operation, api_schema.tokens)


def _fuzz(operation, tokens: dict) -> None:
    intake = operation.method.upper() == "POST" and operation.path == "/drafts"
    headers = {"Authorization": f"Bearer {tokens['intake' if intake else 'personal']}"}

    @EXAMPLES
    @given(case=operation.as_strategy())
    def call(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()
