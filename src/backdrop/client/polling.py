"""When to retry a request and when to poll an order again: pure timing, no I/O."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

# 429 and the 5xx a proxy or a busy server answers are worth another try; others are final.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for 429, 5xx and connection errors.

    `attempts` counts every try, the first included. A `Retry-After` header (seconds) is
    honoured up to `max_delay`.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    # Injected so tests can make the jitter deterministic.
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number `retry` (1 for the first retry)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        # Full jitter: clients that failed together do not come back together.
        return ceiling * (0.5 + 0.5 * self.random())


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds, when it is a number."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # An HTTP date: rare from APIs; the backoff applies instead.


def is_retryable_transport_error(error: httpx.TransportError, *, idempotent: bool) -> bool:
    """Whether a request that failed in transport may be sent again.

    A connection that was never made cannot have created an order, so it is always retried;
    a request that may have reached the server (read timeout, reset) is retried only when
    sending it twice is harmless.
    """
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return idempotent


@dataclass(frozen=True)
class PollSchedule:
    """Delays between order-status polls.

    The first poll comes when the server said an order takes (`avgResponseTimeInSec`), since
    asking sooner only costs requests; later polls back off by `factor` from a quarter of that
    time, between `min_interval` and `max_interval`.
    """

    min_interval: float = 0.25
    max_interval: float = 5.0
    factor: float = 1.5

    def delays(self, avg_response_seconds: float | None) -> Iterator[float]:
        """An endless series of sleeps, the first one before the first poll."""
        expected = avg_response_seconds if avg_response_seconds else 3.0
        yield min(max(expected, self.min_interval), self.max_interval)
        interval = min(max(expected / 4, self.min_interval), self.max_interval)
        while True:
            yield interval
            interval = min(interval * self.factor, self.max_interval)
