import csv
import io

import pytest
from django.test import Client

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.oversight.models import ReadinessPolicy

from .factories import seed_decision

pytestmark = pytest.mark.django_db


def test_the_page_shows_cells_verdicts_and_five_charts_each_with_a_table(auditor_client, reviewer):
    seed_decision(reviewer, kind="refund")
    seed_decision(reviewer, kind="refund", action="reject", reason="Tone not appropriate")
    response = auditor_client.get("/audit/oversight/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("<svg") == 5 and body.count("<caption>") == 5
    assert "style=" not in body.split("<main")[1] and "<script" not in body.split("<main")[1]
    assert "Not ready: 2 decisions (needs 200)" in body
    assert "Tone not appropriate" in body
    assert "share of decisions (%)" in body and "week starting (UTC)" in body  # axis titles with units


def test_reviewers_and_outsiders_cannot_see_it(reviewer_client, client, admin_client_):
    assert reviewer_client.get("/audit/oversight/").status_code == 403
    assert client.get("/audit/oversight/").status_code == 302
    assert admin_client_.get("/audit/oversight/").status_code == 200


def test_bad_filters_are_a_400_with_the_reason(auditor_client):
    response = auditor_client.get("/audit/oversight/", {"since": "2026-05-01", "until": "2026-04-01"})
    assert response.status_code == 400
    assert "must not be after" in response.content.decode()
    assert auditor_client.get("/audit/oversight/export.csv", {"since": "not a date"}).status_code == 400


def test_csv_has_a_row_per_week_mailbox_and_kind_and_guards_formulas(auditor_client, reviewer):
    seed_decision(reviewer, kind="refund")
    seed_decision(reviewer, mailbox_id="=cmd()", action="reject", reason="@SUM(A1)")
    response = auditor_client.get("/audit/oversight/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(row["mailbox_id"], row["kind"]) for row in rows[:-1]} == {("mbx_support", "refund"), ("'=cmd()", "other")}
    guarded = next(row for row in rows if row["mailbox_id"] == "'=cmd()")
    assert guarded["top_rejection_reason"] == "'@SUM(A1)" and guarded["rejected_share"] == "1.0000"
    assert rows[-1]["week_start"] == "total" and rows[-1]["decisions"] == "2"


def _bearer(user) -> dict:
    _, raw = api_token_issue(user=user, name="cli", actor=Actor.system("test"))
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_readiness_api_for_auditor_and_admin_tokens_only(auditor, admin_user, reviewer):
    seed_decision(reviewer, kind="refund")
    response = Client().get(
        "/api/v1/oversight/readiness", {"mailbox": "mbx_support", "kind": "refund"}, **_bearer(auditor)
    )
    assert response.status_code == 200
    data = response.json()
    assert data["total"]["decisions"] == 1 and data["kind"] == "refund"
    assert len(data["weeks"]) == 12
    assert data["readiness"][0]["mailbox_id"] == "mbx_support" and data["readiness"][0]["ready"] is False
    assert "2 decisions" not in data["readiness"][0]["summary"]
    assert Client().get("/api/v1/oversight/readiness", **_bearer(admin_user)).status_code == 200
    assert Client().get("/api/v1/oversight/readiness", **_bearer(reviewer)).status_code == 403
    assert Client().get("/api/v1/oversight/readiness").status_code == 401
    bad = Client().get("/api/v1/oversight/readiness", {"since": "soon"}, **_bearer(auditor))
    assert bad.status_code == 400 and "since" in bad.json()["fields"]


def test_admins_edit_the_policy_and_the_change_is_audited(admin_client_, auditor_client):
    form = {"min_decisions": "50", "min_days": "7", "unedited_share": "95.5", "recent_days": "10",
            "blocking_reasons": "Wrong recipient\n\n", "require_verified_audit": ""}  # fmt: skip
    response = admin_client_.post("/manage/oversight/policy/", form)
    assert response.status_code == 302
    policy = ReadinessPolicy.objects.get(pk=1)
    assert (policy.min_decisions, policy.recent_days, policy.blocking_reasons) == (50, 10, ["Wrong recipient"])
    assert policy.require_verified_audit is False
    event = AuditEvent.objects.get(action="oversight.policy_changed")
    assert event.payload["before"]["min_decisions"] == 200 and event.payload["after"]["unedited_share"] == "95.5"
    assert auditor_client.post("/manage/oversight/policy/", form).status_code == 403
    assert admin_client_.post("/manage/oversight/policy/", {**form, "unedited_share": "101"}).status_code == 400
