"""Intake's first statement (the reads' version) is the check of a kept connection (routing/intake_cache.py):
no SELECT 1 of Django's before it, and a connection PostgreSQL ended is replaced, not answered with a 503."""

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import Client

from reviewqueue.review.models import Draft
from tests.routing.conftest import intake_token
from tests.routing.test_intake_submit import GOOD, post, routed  # noqa: F401 (the fixture)


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_postgresql_ended_is_replaced_by_the_next_intake(routed, multimail):  # noqa: F811
    raw, client = intake_token()[1], Client()
    assert post(client, GOOD, raw).status_code == 202
    ended = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [ended])
    close_old_connections()  # what a new request starts with (the test client leaves it out)
    assert post(client, {**GOOD, "subject": "After the restart"}, raw).status_code == 202
    assert connection.connection.info.backend_pid != ended
    assert Draft.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_intakes_first_statement_checks_the_kept_connection_instead_of_a_select_1(
    routed,  # noqa: F811
    multimail,
    monkeypatch,
):

    raw, client = intake_token()[1], Client()
    assert post(client, GOOD, raw).status_code == 202
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    close_old_connections()
    assert post(client, {**GOOD, "subject": "Checked by its first statement"}, raw).status_code == 202
    assert checks == [] and connection.health_check_done
