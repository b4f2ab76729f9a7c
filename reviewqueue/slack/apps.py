from django.apps import AppConfig


class SlackConfig(AppConfig):
    name = "reviewqueue.slack"
    label = "slack_app"
    verbose_name = "Slack app"

    def ready(self):
        from reviewqueue.slack import receivers

        receivers.connect()
