from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "reviewqueue.callbacks"
    verbose_name = "Callbacks to agents"

    def ready(self):
        from reviewqueue.callbacks import receivers

        receivers.connect()
