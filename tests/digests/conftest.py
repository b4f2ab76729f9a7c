import pytest


@pytest.fixture(autouse=True)
def email_configured(settings):
    """As with EMAIL_URL set (pytest-django's locmem mailer catches what is sent)."""
    settings.EMAIL_CONFIGURED = True
