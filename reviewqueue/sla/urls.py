from django.urls import path

from reviewqueue.sla import views

app_name = "sla"
urlpatterns = [
    path("mailboxes/<int:pk>/policy", views.mailbox_policy, name="mailbox_policy"),
]
