"""Admins set each mailbox's spot-check settings (sample share, daily minimum, threshold, window) on the
oversight policy page: validated (a bad value is a 400 naming its field), every change audited with the
values before and after, and the sampling and the tighten window read what was saved."""

from decimal import Decimal

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.oversight.models import SpotCheckPolicy
from reviewqueue.oversight.spot_checks import spot_policy, spot_window
from reviewqueue.routing.models import Mailbox

URL = "/manage/oversight/spot-checks"
GOOD = {"mailbox": "mb_orders", "sample_percent": "12.5", "daily_minimum": "3", "threshold_percent": "2",
        "window": "40"}  # fmt: skip


@pytest.fixture
def mailbox(db):
    return Mailbox.objects.create(mailbox_id="mb_orders", address="orders@fernhill.example", oversight_mode="monitored")


def test_the_policy_page_shows_each_mailboxs_settings_defaults_first(mailbox, admin_client_):
    page = admin_client_.get("/manage/oversight/policy/").content.decode()
    assert 'id="spot-title"' in page and 'action="/manage/oversight/spot-checks"' in page
    assert 'name="sample_percent" type="number" min="0" max="100" step="0.1" value="10.0"' in page
    assert 'name="threshold_percent" type="number" min="0" max="100" step="0.1" value="5.0"' in page
    assert 'name="window" type="number" min="1" max="10000" step="1" value="50"' in page
    admin_client_.post(URL, GOOD)
    page = admin_client_.get("/manage/oversight/policy/").content.decode()
    assert 'value="12.5"' in page and 'value="2.0"' in page and 'value="40"' in page


def test_a_change_is_saved_and_audited_with_old_and_new_values(mailbox, admin_client_):
    response = admin_client_.post(URL, GOOD, follow=True)
    assert "Spot-check settings of mb_orders saved." in response.content.decode()
    policy = SpotCheckPolicy.objects.get(mailbox_id="mb_orders")
    assert (policy.sample_rate, policy.daily_minimum, policy.reject_share, policy.window) == (
        Decimal("0.125"), 3, Decimal("0.020"), 40,
    )  # fmt: skip
    admin_client_.post(URL, {**GOOD, "daily_minimum": "7"})
    first, second = AuditEvent.objects.filter(action="oversight.spot_policy_changed").order_by("seq")
    assert (first.target_type, first.target_id, first.actor_type) == ("mailbox", "mb_orders", "person")
    assert first.payload == {
        "before": {"sample_rate": "0.100", "daily_minimum": 5, "reject_share": "0.050", "window": 50},
        "after": {"sample_rate": "0.125", "daily_minimum": 3, "reject_share": "0.020", "window": 40},
    }
    assert (second.payload["before"]["daily_minimum"], second.payload["after"]["daily_minimum"]) == (3, 7)
    assert spot_policy("mb_orders").daily_minimum == 7 and spot_window("mb_orders").threshold == Decimal("0.020")


@pytest.mark.parametrize(
    ("field", "value"),
    [("sample_percent", "101"), ("sample_percent", "-1"), ("sample_percent", "ten"), ("daily_minimum", "-2"),
     ("daily_minimum", "1.5"), ("threshold_percent", "100.5"), ("threshold_percent", "0.05"), ("window", "0"),
     ("window", ""), ("mailbox", "nope")],
)  # fmt: skip
def test_a_bad_value_is_a_400_naming_the_field_and_changes_nothing(mailbox, admin_client_, field, value):
    response = admin_client_.post(URL, {**GOOD, field: value})
    assert response.status_code == 400
    assert response.content.decode().startswith(f"Invalid spot-check settings: {field}: ")
    assert not SpotCheckPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="oversight.spot_policy_changed").exists()


def test_only_admins_change_the_settings(mailbox, auditor_client, reviewer_client):
    assert auditor_client.post(URL, GOOD).status_code == 403
    assert reviewer_client.post(URL, GOOD).status_code == 403
    assert not SpotCheckPolicy.objects.exists()
