"""EMAIL_URL → Django's MAILERS["default"] (README: "Configuration"). Pure: settings.py calls it.

    smtp://user:password@host:25          plain SMTP (add ?tls=1 for STARTTLS)
    smtp+tls://user:password@host:587     STARTTLS
    smtps://user:password@host:465        SMTP over TLS
    file:///var/lib/reviewqueue/mail      caught, not sent: one .eml file per message, shown at /mail/
                                          while DEBUG is on (what `make run` uses)
    console://  locmem://  dummy://       Django's console, in-memory and do-nothing backends
The user name and password are percent-decoded (a "@" in a password is written %40).
Empty: mail is not sent (each send fails saying EMAIL_URL is not set), and the digest settings say so.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

CATCHING_BACKEND = "reviewqueue.digests.mailcatcher.CatchingEmailBackend"
# Unset: every send fails saying so (an escalation email shows that on its mailbox page), and digests
# are not attempted. Not Django's dummy backend, which drops mail silently (and `check --deploy` refuses).
NOT_CONFIGURED_BACKEND = "reviewqueue.digests.mailcatcher.NotConfiguredEmailBackend"
_SIMPLE = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
_SMTP_PORTS = {"smtp": 25, "smtp+tls": 587, "smtps": 465}
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class EmailConfig:
    mailer: dict  # MAILERS["default"]: {"BACKEND", "OPTIONS"}
    configured: bool  # False: EMAIL_URL unset, mail goes nowhere
    catcher_dir: str = ""  # file://: where caught mail is kept


def email_settings(url: str) -> EmailConfig:
    """The default mailer for `url`; ImproperlyConfigured naming what is wrong."""
    if not url:
        return EmailConfig({"BACKEND": NOT_CONFIGURED_BACKEND}, configured=False)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _SIMPLE:
        return EmailConfig({"BACKEND": _SIMPLE[scheme]}, configured=True)
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ImproperlyConfigured(
                f"EMAIL_URL file:// needs an absolute directory, e.g. file:///srv/reviewqueue/mail: {url!r}"
            )
        directory = unquote(parts.path)
        mailer = {"BACKEND": CATCHING_BACKEND, "OPTIONS": {"directory": directory}}
        return EmailConfig(mailer, configured=True, catcher_dir=directory)
    if scheme not in _SMTP_PORTS:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme {parts.scheme!r} is not one of smtp, smtp+tls, smtps, file, console, locmem, dummy"
        )
    return EmailConfig(_smtp_mailer(parts, scheme), configured=True)


def _smtp_mailer(parts, scheme: str) -> dict:
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no mail server host (smtp://user:password@host:port)")
    try:
        port = parts.port or _SMTP_PORTS[scheme]
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has a port that is not a number") from None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    try:
        timeout = int(query.get("timeout", "10"))
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL timeout must be whole seconds, not {query['timeout']!r}") from None
    options = {
        "host": parts.hostname,
        "port": port,
        "username": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "use_tls": scheme == "smtp+tls" or query.get("tls", "").lower() in _TRUE,
        "use_ssl": scheme == "smtps",
        "timeout": timeout,
    }
    return {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}
