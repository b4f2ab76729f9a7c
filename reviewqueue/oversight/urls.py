from django.urls import path

from reviewqueue.oversight import views

app_name = "oversight"
urlpatterns = [
    path("", views.evidence_page, name="evidence"),
    path("export.csv", views.evidence_export, name="export"),
    path("sent-check/", views.sent_check_page, name="sent_check"),
]
