from django.apps import AppConfig


class MultimailConfig(AppConfig):
    name = "reviewqueue.integrations.multimail"
    label = "multimail"
