import pytest

from reviewqueue.oversight.compliance import facts_forget


@pytest.fixture(autouse=True)
def compliance_forgotten():
    """The compliance facts are memoised a few seconds per process and cached a minute: not across tests."""
    facts_forget()
    yield
    facts_forget()
