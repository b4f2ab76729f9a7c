from django.urls import path

from reviewqueue.integrations.intercom import webhooks

urlpatterns = [path("", webhooks.intercom_webhook, name="intercom-webhook")]
