from django.apps import AppConfig


class InboundConfig(AppConfig):
    """Webhook deliveries from MultiMail and Intercom, stored once each before any work is done."""

    name = "reviewqueue.integrations.inbound"
    label = "inbound"
