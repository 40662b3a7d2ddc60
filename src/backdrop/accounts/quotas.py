"""Per-key and per-address limits, counted by the `limits` library.

The counts live in memory (one process) or in Redis (`rate_limits.storage_url`), so that every
API node of a scale-out deployment sees the same counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from backdrop.errors import RateLimited, retry_seconds
from backdrop.observability.metrics import LIMIT_REFUSALS
from backdrop.settings import RateLimitSettings


@dataclass(frozen=True)
class Quota:
    """Where a client stands against one limit; sent as remove.bg's X-RateLimit-* headers."""

    limit: int
    remaining: int
    reset: float  # Unix time at which the window starts again

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset)),
        }


class Quotas:
    def __init__(self, settings: RateLimitSettings) -> None:
        options: dict[str, str] = {}
        if not settings.storage_url.startswith("memory://"):
            options["key_prefix"] = settings.key_prefix
        self._limiter = FixedWindowRateLimiter(storage_from_string(settings.storage_url, **options))
        self._requests = parse(settings.requests)
        self._orders = parse(settings.orders)
        self._upload_bytes = parse(settings.upload_bytes)
        self._failed_auth = parse(settings.failed_auth)

    def request(self, key_id: str) -> Quota:
        """Count one request of `key_id`; RateLimited when it is one too many."""
        return self._hit("requests", self._requests, key_id, "request rate")

    def order(self, key_id: str) -> Quota:
        return self._hit("orders", self._orders, key_id, "orders per period")

    def upload_bytes(self, key_id: str, size: int) -> Quota:
        """Count `size` upload bytes; refused uploads use none of the budget."""
        if not self._limiter.test(self._upload_bytes, "upload_bytes", key_id, cost=size):
            self._refuse("upload_bytes", self._upload_bytes, key_id, "upload bytes per period")
        return self._hit("upload_bytes", self._upload_bytes, key_id, "upload bytes", cost=size)

    def check_address(self, address: str) -> None:
        """RateLimited while `address` has used up its failed authentications."""
        if not self._limiter.test(self._failed_auth, "failed_auth", address):
            self._refuse("failed_auth", self._failed_auth, address, "failed authentications")

    def failed_auth(self, address: str) -> None:
        self._limiter.hit(self._failed_auth, "failed_auth", address)

    def _hit(self, name: str, item: RateLimitItem, who: str, what: str, cost: int = 1) -> Quota:
        if not self._limiter.hit(item, name, who, cost=cost):
            self._refuse(name, item, who, what)
        return self._quota(name, item, who)

    def _quota(self, name: str, item: RateLimitItem, who: str) -> Quota:
        stats = self._limiter.get_window_stats(item, name, who)
        return Quota(item.amount, max(stats.remaining, 0), stats.reset_time)

    def _refuse(self, name: str, item: RateLimitItem, who: str, what: str) -> None:
        LIMIT_REFUSALS.labels(name).inc()
        quota = self._quota(name, item, who)
        headers = quota.headers()
        headers["Retry-After"] = retry_seconds(quota.reset - time.time())
        raise RateLimited(
            f"limit of {item} {what} reached; retry after the Retry-After header", headers
        )
