from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "reviewqueue.sla"
    label = "sla"
