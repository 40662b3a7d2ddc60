"""The SDK's core flows answered by hand: the retry and polling decisions need no client, no
transport and no clock of their own."""

from __future__ import annotations

import httpx
import pytest

from backdrop.client import OrderTimeout, PollSchedule, RetryPolicy, TransportError
from backdrop.client.retrying import send_with_retries
from backdrop.client.steps import Send, Sleep
from backdrop.client.sync import Client

URL = "http://backdrop.test/external/api/v1/account"


def test_send_with_retries_yields_the_request_then_the_backoff() -> None:
    request = Send("GET", URL)
    flow = send_with_retries(
        request, RetryPolicy(base_delay=1.0, random=lambda: 1.0), idempotent=True
    )
    assert next(flow) == request
    assert flow.send(httpx.ReadTimeout("slow")) == Sleep(1.0)
    assert flow.send(None) == request
    assert flow.send(httpx.Response(503)) == Sleep(2.0)
    assert flow.send(None) == request
    with pytest.raises(StopIteration) as finished:
        flow.send(httpx.Response(200))
    assert finished.value.value.status_code == 200


def test_a_non_idempotent_request_is_not_sent_again_after_a_read_timeout() -> None:
    flow = send_with_retries(Send("POST", URL), RetryPolicy(), idempotent=False)
    next(flow)
    with pytest.raises(TransportError) as raised:
        flow.send(httpx.ReadTimeout("slow"))
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)


def test_the_wait_flow_polls_until_its_timeout_then_gives_up() -> None:
    now = 0.0
    client = Client(
        "http://backdrop.test", "k", poll=PollSchedule(max_interval=2), clock=lambda: now
    )
    pending = httpx.Response(200, json={"statusCode": 2000, "body": {"status": "init"}})
    flow = client._wait_flow("o1", timeout=3)
    sleeps: list[float] = []
    step = next(flow)
    with pytest.raises(OrderTimeout) as raised:
        while True:
            assert isinstance(step, Sleep)
            sleeps.append(step.seconds)
            now += step.seconds
            poll = flow.send(None)
            assert isinstance(poll, Send) and poll.json == {"orderId": "o1"}
            step = flow.send(pending)
    # The last sleep is cut short so the give-up comes at the timeout, not after it.
    assert sleeps == [2.0, 0.75, 0.25] and raised.value.waited == 3
    client.close()
