from django.urls import path

from reviewqueue.oversight import api

app_name = "oversight_api"
urlpatterns = [
    path("readiness", api.readiness, name="readiness"),
]
