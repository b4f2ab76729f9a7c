from django.urls import path

from reviewqueue.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("events/<int:seq>/", views.event_detail, name="event"),
    path("decisions/<str:decision_id>/", views.decision_record, name="decision"),
    path("export.<str:export_format>", views.export, name="export"),
    path("summaries/", views.summaries, name="summaries"),
    path("verification/", views.verification, name="verification"),
    path("verification/<int:verification_id>/", views.verification_status, name="verification_status"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
]
