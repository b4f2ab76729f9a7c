"""Server-Timing on every response, through the whole middleware stack (reviewqueue/server_timing.py)."""

import re

from django.http import HttpResponse
from django.test import RequestFactory

from reviewqueue.server_timing import ServerTimingMiddleware

APP_TIMING = re.compile(r"app;dur=(\d+\.\d)")


def test_a_page_answers_with_the_time_the_app_spent(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    match = APP_TIMING.fullmatch(response.headers["Server-Timing"])
    assert match and 0 <= float(match.group(1)) < 10_000


def test_a_redirect_and_a_refusal_are_timed_too(client):
    assert APP_TIMING.fullmatch(client.get("/queue/").headers["Server-Timing"])  # to the login page
    assert APP_TIMING.fullmatch(client.post("/api/v1/drafts/1/decision").headers["Server-Timing"])


def test_a_timing_the_view_set_is_kept_beside_the_app_s():
    def view(request):
        response = HttpResponse("ok")
        response.headers["Server-Timing"] = "db;dur=3.0"
        return response

    response = ServerTimingMiddleware(view)(RequestFactory().get("/"))
    assert re.fullmatch(r"db;dur=3\.0, app;dur=\d+\.\d", response.headers["Server-Timing"])
