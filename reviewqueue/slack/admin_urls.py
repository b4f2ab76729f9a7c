from django.urls import path

from reviewqueue.slack import admin_views

app_name = "slack_admin"
urlpatterns = [
    path("mailboxes/<int:pk>/channel", admin_views.mailbox_slack_channel, name="mailbox_channel"),
]
