from django.apps import AppConfig


class IntercomConfig(AppConfig):
    name = "reviewqueue.integrations.intercom"
    label = "intercom"
