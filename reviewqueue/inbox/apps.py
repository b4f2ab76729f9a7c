from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "reviewqueue.inbox"
    label = "inbox"
    verbose_name = "Intercom Inbox app"
