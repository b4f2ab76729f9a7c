from django.urls import path

from reviewqueue.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
]
