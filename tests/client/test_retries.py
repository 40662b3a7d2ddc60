"""Retries, backoff and polling, against a scripted transport (a real server never 503s on cue)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from backdrop.client import (
    AsyncClient,
    Client,
    InsufficientCredits,
    OrderFailed,
    OrderTimeout,
    PollSchedule,
    RetryPolicy,
    ServerError,
    TransportError,
)

BASE = "http://backdrop.test"


def envelope(
    body: dict[str, object], code: int = 2000, message: str = "SUCCESS"
) -> dict[str, object]:
    return {"statusCode": code, "message": message, "body": body}


class Script:
    """Answers requests from a list, in order, and records them."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make_client(script: Script, time: FakeTime, **kwargs: object) -> Client:
    return Client(
        BASE,
        api_key="k",
        transport=httpx.MockTransport(script),
        sleep=time.sleep,
        clock=time.clock,
        **kwargs,  # type: ignore[arg-type]
    )


def unavailable() -> httpx.Response:
    return httpx.Response(503, json=envelope({"detail": "busy"}, 5031, "SERVICE_UNAVAILABLE"))


def test_5xx_and_connection_errors_are_retried_with_jittered_backoff() -> None:
    script = Script(
        unavailable(),
        httpx.ConnectError("refused"),
        httpx.Response(200, json=envelope({"credits": 7.5})),
    )
    time = FakeTime()
    client = make_client(
        script, time, retry=RetryPolicy(attempts=4, base_delay=1.0, random=lambda: 0.0)
    )
    assert client.credits() == 7.5
    assert len(script.requests) == 3
    # Full jitter with random()=0 gives half of each exponential ceiling: 1 s, then 2 s.
    assert time.sleeps == [0.5, 1.0]
    assert all(request.headers["x-api-key"] == "k" for request in script.requests)


def test_jitter_spreads_delays_within_the_ceiling() -> None:
    values = iter([0.0, 0.5, 1.0])
    policy = RetryPolicy(base_delay=2.0, max_delay=5.0, random=lambda: next(values))
    assert [policy.delay(1), policy.delay(2), policy.delay(3)] == [1.0, 3.0, 5.0]


def test_429_honours_retry_after() -> None:
    script = Script(
        httpx.Response(429, headers={"Retry-After": "3"}, json=envelope({}, 4290, "TOO_MANY")),
        httpx.Response(200, json=envelope({"credits": 1})),
    )
    time = FakeTime()
    assert make_client(script, time).credits() == 1
    assert time.sleeps == [3.0]


def test_persistent_5xx_raises_a_typed_error_with_the_status_code() -> None:
    script = Script(*[unavailable() for _ in range(3)])
    time = FakeTime()
    client = make_client(script, time, retry=RetryPolicy(attempts=3))
    with pytest.raises(ServerError) as raised:
        client.credits()
    assert raised.value.status_code == 5031 and raised.value.message == "SERVICE_UNAVAILABLE"
    assert raised.value.detail == "busy" and len(script.requests) == 3 and len(time.sleeps) == 2


def test_a_read_timeout_on_order_creation_is_not_retried() -> None:
    # The order may have been created: sending it again could charge twice.
    script = Script(httpx.ReadTimeout("slow"))
    time = FakeTime()
    with pytest.raises(TransportError):
        make_client(script, time).remove_background("http://backdrop.test/images/u/a.jpg")
    assert len(script.requests) == 1 and time.sleeps == []


def test_lightx_style_error_inside_http_200_is_raised() -> None:
    script = Script(
        httpx.Response(200, json=envelope({"detail": "no credits"}, 5040, "API_CREDITS_CONSUMED"))
    )
    with pytest.raises(InsufficientCredits) as raised:
        make_client(script, FakeTime()).credits()
    assert raised.value.status_code == 5040


def created(avg: int) -> httpx.Response:
    return httpx.Response(
        200,
        json=envelope(
            {"orderId": "o1", "maxRetriesAllowed": 5, "avgResponseTimeInSec": avg, "status": "init"}
        ),
    )


def status(state: str, **extra: str) -> httpx.Response:
    return httpx.Response(200, json=envelope({"orderId": "o1", "status": state, **extra}))


def test_polling_waits_the_average_first_then_backs_off() -> None:
    script = Script(
        created(4),
        status("init"),
        status("init"),
        status("init"),
        status("active", output=f"{BASE}/images/r/o1.png", mask=f"{BASE}/images/r/o1.mask.png"),
    )
    time = FakeTime()
    client = make_client(
        script, time, poll=PollSchedule(min_interval=0.25, max_interval=10, factor=2)
    )
    result = client.remove_background(f"{BASE}/images/u/a.jpg", "white")
    assert result.status == "active" and result.mask_url == f"{BASE}/images/r/o1.mask.png"
    assert time.sleeps == [4.0, 1.0, 2.0, 4.0]
    assert script.requests[0].url.path == "/external/api/v1/remove-background"


def test_a_failed_order_raises_order_failed_with_the_reason() -> None:
    script = Script(created(1), status("failed", reason="the image has no subject"))
    with pytest.raises(OrderFailed) as raised:
        make_client(script, FakeTime()).generate_background(f"{BASE}/images/u/a.jpg", "sea")
    assert raised.value.reason == "the image has no subject"
    assert raised.value.order.order_id == "o1"


def test_wait_gives_up_after_its_timeout() -> None:
    script = Script(*[status("init") for _ in range(20)])
    time = FakeTime()
    client = make_client(script, time, poll=PollSchedule(max_interval=2))
    with pytest.raises(OrderTimeout) as raised:
        client.wait("o1", timeout=5)
    assert raised.value.waited >= 5 and sum(time.sleeps) == pytest.approx(5)


def test_async_client_retries_the_same_way() -> None:
    script = Script(unavailable(), httpx.Response(200, json=envelope({"credits": 2})))
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def scenario() -> float:
        async with AsyncClient(
            BASE,
            api_key="k",
            transport=httpx.MockTransport(_async(script)),
            sleep=fake_sleep,
            retry=RetryPolicy(base_delay=1.0, random=lambda: 1.0),
        ) as client:
            return await client.credits()

    assert asyncio.run(scenario()) == 2 and sleeps == [1.0]


def _async(
    script: Script,
) -> Callable[[httpx.Request], object]:
    async def handler(request: httpx.Request) -> httpx.Response:
        return script(request)

    return handler
