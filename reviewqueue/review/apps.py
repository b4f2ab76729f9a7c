from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "reviewqueue.review"

    def ready(self):
        from reviewqueue.review import health  # noqa: F401  (registers the "poll" readiness check)
