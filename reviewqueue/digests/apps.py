from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "reviewqueue.digests"
    label = "digests"
    verbose_name = "Digests"
