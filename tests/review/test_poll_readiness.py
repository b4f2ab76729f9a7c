from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from reviewqueue.review.poll import LAST_POLL_KEY

pytestmark = pytest.mark.django_db


def readyz():
    response = Client().get("/readyz")
    return response.status_code, response.json()["checks"]["poll"]


def test_before_the_first_poll_the_service_is_ready(broker):
    status, detail = readyz()
    assert status == 200 and detail == "no poll yet"


def test_a_recent_poll_is_ready(broker):
    cache.set(LAST_POLL_KEY, (timezone.now() - timedelta(seconds=20)).isoformat(), timeout=None)
    status, detail = readyz()
    assert status == 200 and detail.startswith("ok")


def test_a_poll_stale_for_several_intervals_is_not_ready(broker, settings):
    settings.POLL_INTERVAL = 30
    cache.set(LAST_POLL_KEY, (timezone.now() - timedelta(minutes=10)).isoformat(), timeout=None)
    status, detail = readyz()
    assert status == 503 and "last successful poll" in detail
