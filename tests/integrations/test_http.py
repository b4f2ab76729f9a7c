"""The shared retry machinery: which calls are retried, how long it waits, when it gives up."""

import httpx
import pytest

from reviewqueue.integrations.http import RetryPolicy, seconds_until_epoch_header, send_with_retries

POLICY = RetryPolicy(max_attempts=3, backoff_base=0.5, backoff_cap=4.0, max_rate_limit_wait=30.0)


def scripted(*steps):
    """A MockTransport answering each request with the next step (a Response or an exception)."""
    calls = []
    remaining = list(steps)

    def handler(request):
        calls.append(request)
        step = remaining.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="https://vendor.test"), calls


def run(client, method="GET", *, safe=False, **kwargs):
    sleeps = []
    response = send_with_retries(
        client,
        client.build_request(method, "/x"),
        policy=POLICY,
        safe=safe,
        sleep=sleeps.append,
        rand=lambda: 1.0,
        **kwargs,
    )
    return response, sleeps


def test_get_is_retried_after_5xx_burst_with_exponential_backoff():
    client, calls = scripted(httpx.Response(502), httpx.Response(503), httpx.Response(200, json={}))
    response, sleeps = run(client)
    assert response.status_code == 200
    assert len(calls) == 3
    assert sleeps == [0.5, 1.0]


def test_backoff_is_capped_and_jittered():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=2.0)
    assert policy.backoff(10, rand=lambda: 1.0) == 2.0
    assert policy.backoff(2, rand=lambda: 0.25) == 0.5


def test_unsafe_post_is_not_retried_on_5xx_or_timeout():
    client, calls = scripted(httpx.Response(500))
    response, sleeps = run(client, "POST")
    assert response.status_code == 500 and len(calls) == 1 and sleeps == []

    client, calls = scripted(httpx.ReadTimeout("slow"))
    with pytest.raises(httpx.ReadTimeout):
        run(client, "POST")
    assert len(calls) == 1


def test_post_marked_safe_is_retried_on_connection_error():
    client, calls = scripted(httpx.ConnectError("refused"), httpx.Response(202, json={}))
    response, _ = run(client, "POST", safe=True)
    assert response.status_code == 202 and len(calls) == 2


def test_gives_up_after_max_attempts_and_raises_last_transport_error():
    client, calls = scripted(httpx.ConnectTimeout("a"), httpx.ConnectTimeout("b"), httpx.ConnectTimeout("c"))
    with pytest.raises(httpx.ConnectTimeout):
        run(client)
    assert len(calls) == 3


def test_429_waits_what_the_vendor_asks():
    client, _ = scripted(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={}))
    response, sleeps = run(client, "POST")
    assert response.status_code == 200 and sleeps == [7.0]


def test_429_asking_too_long_or_without_hint_is_returned():
    client, _ = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    response, sleeps = run(client)
    assert response.status_code == 429 and sleeps == []
    client, _ = scripted(httpx.Response(429))
    response, sleeps = run(client)
    assert response.status_code == 429 and sleeps == []


def test_epoch_reset_header_callback():
    wait = seconds_until_epoch_header("X-RateLimit-Reset", now=lambda: 1000.0)
    client, _ = scripted(httpx.Response(429, headers={"X-RateLimit-Reset": "1005"}), httpx.Response(200))
    response, sleeps = run(client, rate_limit_wait=wait)
    assert response.status_code == 200 and sleeps == [5.0]


def test_retry_after_reads_seconds_or_an_http_date():
    from reviewqueue.integrations.http import seconds_from_retry_after

    assert seconds_from_retry_after(httpx.Response(429, headers={"Retry-After": "12"})) == 12.0
    dated = httpx.Response(429, headers={"Retry-After": "Wed, 25 Nov 2026 15:00:30 GMT"})
    assert seconds_from_retry_after(dated, now=lambda: 1795618800.0) == 30.0  # 15:00:00 GMT that day
    assert seconds_from_retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert seconds_from_retry_after(httpx.Response(429)) is None
