"""Which response_url reviewqueue posts to: Slack's own (https://hooks.slack.com/…) or, for a Slack at
another address (the sandbox), one on SLACK_API_URL's origin. The payload is signed, but a URL is
still checked before anything is sent to it."""

from urllib.parse import urlsplit

from django.conf import settings

SLACK_HOOKS = ("https", "hooks.slack.com")


def allowed_response_url(url: str) -> bool:
    if not isinstance(url, str) or not url:
        return False
    parts = urlsplit(url)
    if (parts.scheme, parts.hostname) == SLACK_HOOKS and not parts.port:
        return True
    api = urlsplit(settings.SLACK_API_URL)
    return bool(parts.hostname) and (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
