"""The admins' side of oversight (under /manage/oversight/): the readiness policy, commercial mailboxes,
spot-check settings and the upgrade flow. Auditors read the evidence under /audit/oversight/ and change nothing here."""

from django.urls import path

from reviewqueue.oversight import views

app_name = "oversight_manage"
urlpatterns = [
    path("policy/", views.policy_edit, name="policy"),
    path("commercial", views.commercial_mail_set, name="commercial"),
    path("spot-checks", views.spot_policy_set, name="spot_checks"),
    path("upgrade/request", views.upgrade_request_view, name="upgrade_request"),
    path("upgrade/redeem", views.upgrade_redeem_view, name="upgrade_redeem"),
]
