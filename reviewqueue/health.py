"""Liveness and readiness probes for load balancers and orchestrators."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# Each readiness check answers (ok, detail). Components add theirs here (e.g. the last poll).
READINESS_CHECKS: dict[str, callable] = {}


def readiness_check(name: str):
    def register(check):
        READINESS_CHECKS[name] = check
        return check

    return register


@readiness_check("database")
def database_ready() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as error:  # any failure means not ready; the probe must answer, not crash
        return False, type(error).__name__


@readiness_check("broker")
def broker_ready() -> tuple[bool, str]:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return True, "ok"
    except redis.RedisError as error:
        return False, type(error).__name__


@require_GET
@never_cache
def healthz(request):
    return JsonResponse({"status": "alive"})


@require_GET
@never_cache
def readyz(request):
    results = {name: check() for name, check in READINESS_CHECKS.items()}
    ready = all(ok for ok, _ in results.values())
    body = {"status": "ready" if ready else "not ready", "checks": {n: d for n, (_, d) in results.items()}}
    return JsonResponse(body, status=200 if ready else 503)
