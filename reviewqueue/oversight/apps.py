from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "reviewqueue.oversight"

    def ready(self):
        from reviewqueue.oversight.spot_checks import send_heard
        from reviewqueue.review.signals import email_sent

        # A monitored mailbox's message.sent webhook (review owns the event) reaches the spot checks.
        email_sent.connect(send_heard, dispatch_uid="oversight.spot_checks.send_heard")
