"""Personas and guards shared by every test.

Tests run against real PostgreSQL and Redis (DATABASE_URL / REDIS_URL, else the embedded ones).
External services are reached only through httpx.MockTransport or the sandboxes on loopback:
any other outbound connection fails.
"""

import ipaddress
import socket

import pytest
from django.test import Client

from reviewqueue.accounts.roles import role_group
from tests.broker import Broker

PASSWORD = "correct-horse-battery-staple"
_real_connect = socket.socket.connect


def _guarded_connect(sock, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(f"tests may not reach the network ({host})")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # The audit log's TRUNCATE trigger lets the suite's between-test flush through on the test
    # database only (every connection, the Celery worker's too); production never sets this.
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        name = connection.ops.quote_name(connection.settings_dict["NAME"])
        cursor.execute(f"ALTER DATABASE {name} SET reviewqueue.allow_audit_truncate = 'on'")
        cursor.execute("SET reviewqueue.allow_audit_truncate = 'on'")


@pytest.fixture(scope="session", autouse=True)
def flush_retried_on_deadlock():
    """Between transactional tests Django empties every table with one TRUNCATE. A live system's worker or
    web process (tests/livesystem.py) may still be finishing the test just ended (an outbox item, a webhook):
    PostgreSQL may then find a deadlock and cancel the TRUNCATE, and the rows left behind break the next test
    (seen once in CI: "duplicate key ... auth_user_username_key"). Tried again, it goes through as soon as
    that writer's transaction ends."""
    import time

    from django.db import OperationalError
    from django.db.backends.postgresql.operations import DatabaseOperations
    from psycopg.errors import DeadlockDetected

    flush = DatabaseOperations.execute_sql_flush

    attempts = 5

    def execute_sql_flush(self, sql_list):
        for attempt in range(1, attempts):
            try:
                return flush(self, sql_list)
            except OperationalError as error:
                if not isinstance(error.__cause__, DeadlockDetected):
                    raise
                time.sleep(0.2 * attempt)
        return flush(self, sql_list)  # the last try: its error is the test's

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture(autouse=True)
def fresh_process_memos():
    """Start each test without what earlier ones left in the process-wide memos: the token's `GET /me`,
    the vendor clients built per configuration (each with its tags by name) and the mailbox identities.
    They are keyed by URL, and a test's sandbox may get the free port an earlier test's had. Oversight's
    compliance facts too (memoised seconds, cached a minute in Redis): an earlier test's rolled-back
    rows must not flag this one's drafts, nor a warm memo change the queries a test counts."""
    from reviewqueue.integrations.intercom import client as intercom
    from reviewqueue.integrations.multimail import client as multimail
    from reviewqueue.oversight.compliance import facts_forget
    from reviewqueue.review import ingest

    facts_forget()

    intercom._me_cache.clear()
    intercom._shared_clients.clear()
    multimail._client_for.cache_clear()
    ingest._mailbox_identities.clear()


@pytest.fixture
def broker():
    """The broker, read back (tests/broker.py), empty at the start and end of the test."""
    broker = Broker()
    broker.flush()
    yield broker
    broker.flush()


@pytest.fixture
def broker_down():
    """Celery's broker unreachable (a closed port, what a stopped redis-server answers) until the
    returned `back()` is called, and again after the test."""
    from reviewqueue.celery import app
    from tests.livesystem import free_port

    saved = app.conf.broker_url, app._pool, app.amqp._producer_pool

    def back():
        app.conf.broker_url, app._pool, app.amqp._producer_pool = saved

    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    app._pool = app.amqp._producer_pool = None
    yield back
    back()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The personas are made with real passwords; the production hasher costs about a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_http(settings):
    # Django's test client speaks plain HTTP; production redirects it to HTTPS.
    settings.SECURE_SSL_REDIRECT = False


def make_user(django_user_model, username: str, *roles: str):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com")
    for role in roles:
        user.groups.add(role_group(role))
    return user


@pytest.fixture
def reviewer(db, django_user_model):
    return make_user(django_user_model, "rita", "reviewer")


@pytest.fixture
def auditor(db, django_user_model):
    return make_user(django_user_model, "aldo", "auditor")


@pytest.fixture
def admin_user(db, django_user_model):
    return make_user(django_user_model, "ada", "admin")


@pytest.fixture
def outsider(db, django_user_model):
    return make_user(django_user_model, "otto")


def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reviewer_client(reviewer):
    return logged_in_client(reviewer)


@pytest.fixture
def auditor_client(auditor):
    return logged_in_client(auditor)


@pytest.fixture
def admin_client_(admin_user):
    return logged_in_client(admin_user)
