from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "reviewqueue.review"

    def ready(self):
        from reviewqueue.integrations.intercom.notifications import conversation_refreshed
        from reviewqueue.review import health  # noqa: F401  (registers the "poll" readiness check)
        from reviewqueue.review.events import multimail_handlers_register
        from reviewqueue.review.ingest import on_conversation_refreshed

        conversation_refreshed.connect(on_conversation_refreshed, dispatch_uid="review.drafts_context_changed")
        multimail_handlers_register()  # what MultiMail's webhook events do to drafts
