"""EMAIL_URL → the default mailer; a bad value names what is wrong."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from reviewqueue.email_url import email_settings


def test_smtp_with_starttls_and_a_password_holding_an_at_sign():
    config = email_settings("smtp+tls://mailer%40acme.test:p%40ss@smtp.acme.test?timeout=5")
    assert config.mailer == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "smtp.acme.test",
            "port": 587,
            "username": "mailer@acme.test",
            "password": "p@ss",
            "use_tls": True,
            "use_ssl": False,
            "timeout": 5,
        },
    }
    assert config.configured


def test_smtps_and_plain_smtp_ports():
    assert email_settings("smtps://smtp.acme.test").mailer["OPTIONS"]["port"] == 465
    assert email_settings("smtps://smtp.acme.test").mailer["OPTIONS"]["use_ssl"] is True
    assert email_settings("smtp://smtp.acme.test:2525?tls=1").mailer["OPTIONS"] | {} == {
        "host": "smtp.acme.test",
        "port": 2525,
        "username": "",
        "password": "",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 10,
    }


def test_file_catches_mail_in_a_directory_and_unset_sends_nothing():
    caught = email_settings("file:///srv/reviewqueue/mail")
    assert caught.catcher_dir == "/srv/reviewqueue/mail"
    assert caught.mailer["OPTIONS"] == {"directory": "/srv/reviewqueue/mail"}
    unset = email_settings("")
    assert (unset.configured, unset.mailer["BACKEND"]) == (
        False,
        "reviewqueue.digests.mailcatcher.NotConfiguredEmailBackend",
    )


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("gopher://mail.acme.test", "gopher"),
        ("smtp://", "host"),
        ("smtp://smtp.acme.test:port", "port"),
        ("smtp://smtp.acme.test?timeout=soon", "soon"),
        ("file://relative/dir", "absolute"),
    ],
)
def test_a_bad_email_url_names_what_is_wrong(url, named):
    with pytest.raises(ImproperlyConfigured, match=named):
        email_settings(url)
