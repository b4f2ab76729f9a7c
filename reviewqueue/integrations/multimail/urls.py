from django.urls import path

from reviewqueue.integrations.multimail.webhooks import multimail_webhook

urlpatterns = [path("", multimail_webhook, name="multimail-webhook")]
