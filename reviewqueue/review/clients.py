"""The vendor clients the review core uses, one per configuration and process.

Building an httpx client costs ~0.1 s (its TLS context); a poll fetching thousands of drafts or a
worker writing notes must not pay that per call. httpx.Client is safe to share across threads.
"""

import threading

from django.conf import settings

_lock = threading.Lock()
_intercom_clients: dict = {}


def multimail_client():
    from reviewqueue.integrations.multimail import client

    return client.get_multimail_client()  # cached per configuration by the MultiMail client itself


def intercom_client():
    from reviewqueue.integrations.intercom import client

    factory = client.get_intercom_client
    key = (
        factory,  # a test that swaps the factory gets its own client
        settings.INTERCOM_API_URL,
        settings.INTERCOM_ACCESS_TOKEN,
        settings.INTERCOM_API_VERSION,
        settings.INTERCOM_ADMIN_ID,
    )
    with _lock:
        if key not in _intercom_clients:
            _intercom_clients[key] = factory()
        return _intercom_clients[key]
