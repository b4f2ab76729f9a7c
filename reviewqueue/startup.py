"""What a process says about its configuration when it starts (web: wsgi.py; worker: celery.py).

Only choices an operator could get wrong silently: where each vendor's settings come from (the local
sandbox's or the configured ones) and whether proxy headers are trusted.
"""

import logging

from django.conf import settings

logger = logging.getLogger("reviewqueue.startup")


def log_configuration() -> None:
    for vendor in settings.VENDORS_IN_USE:
        logger.info("vendor settings in use: %s", vendor)
    if settings.BEHIND_PROXY:
        logger.info("BEHIND_PROXY on: the client address and scheme come from X-Forwarded-For / X-Forwarded-Proto")
    else:
        logger.info("BEHIND_PROXY off: X-Forwarded-For and X-Forwarded-Proto are ignored")
