"""The vendor clients the review core uses, one per configuration and process.

Building an httpx client costs ~0.1 s (its TLS context); a poll fetching thousands of drafts or a
worker writing notes must not pay that per call. Each vendor's client module keeps them.
"""


def multimail_client():
    from reviewqueue.integrations.multimail import client

    return client.get_multimail_client()  # cached per configuration by the MultiMail client itself


def intercom_client():
    from reviewqueue.integrations.intercom import client

    return client.shared_intercom_client()
