"""Sending a request again after 429, 5xx and connection errors, as a flow without I/O."""

from __future__ import annotations

import httpx

from backdrop.client.errors import TransportError
from backdrop.client.polling import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    is_retryable_transport_error,
    retry_after_seconds,
)
from backdrop.client.steps import Flow, Send, exchange, sleep


def send_with_retries(
    request: Send, policy: RetryPolicy, *, idempotent: bool
) -> Flow[httpx.Response]:
    """One request, retried with jittered backoff on 429, 5xx and connection errors.

    The last answer is returned whatever its status; a transport error that may not or can no
    longer be retried raises TransportError.
    """
    for attempt in range(1, policy.attempts + 1):
        last = attempt == policy.attempts
        reply = yield from exchange(request)
        if isinstance(reply, httpx.TransportError):
            if last or not is_retryable_transport_error(reply, idempotent=idempotent):
                raise TransportError(f"{request.method} {request.url}: {reply!r}") from reply
            yield from sleep(policy.delay(attempt))
            continue
        if reply.status_code not in RETRYABLE_STATUSES or last:
            return reply
        yield from sleep(policy.delay(attempt, retry_after_seconds(reply)))
    raise AssertionError("unreachable")  # pragma: no cover
