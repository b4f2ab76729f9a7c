from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Local stand-ins for MultiMail and Intercom; an app only so its commands are found."""

    name = "reviewqueue.sandbox"
