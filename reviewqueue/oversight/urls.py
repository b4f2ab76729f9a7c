from django.urls import path

from reviewqueue.oversight import views

app_name = "oversight"
urlpatterns = [
    path("", views.evidence_page, name="evidence"),
    path("export.csv", views.evidence_export, name="export"),
    path("policy/", views.policy_edit, name="policy"),
    path("commercial", views.commercial_mail_set, name="commercial"),
    path("sent-check/", views.sent_check_page, name="sent_check"),
    path("upgrade/request", views.upgrade_request_view, name="upgrade_request"),
    path("upgrade/redeem", views.upgrade_redeem_view, name="upgrade_redeem"),
]
