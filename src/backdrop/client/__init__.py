"""The backdrop Python SDK: the LightX API over HTTP, sync (`Client`) and async (`AsyncClient`).

The same code talks to a backdrop server or to LightX itself; only the base URL and key differ.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backdrop.client.aio import AsyncClient
    from backdrop.client.errors import (
        ApiError,
        AuthenticationError,
        BackdropClientError,
        InsufficientCredits,
        InvalidRequest,
        NotFound,
        OrderFailed,
        OrderTimeout,
        RateLimited,
        ServerError,
        TransportError,
    )
    from backdrop.client.polling import PollSchedule, RetryPolicy
    from backdrop.client.results import AsyncResult, Order, Result
    from backdrop.client.sync import Client

LIGHTX_BASE_URL = "https://api.lightxeditor.com"

# Each public name's module, imported on first use: `backdrop remove` on local files needs
# only the errors, and importing the clients (httpx) cost it ~65 ms at every start.
_MODULES = {
    "AsyncClient": "aio",
    "Client": "sync",
    "PollSchedule": "polling",
    "RetryPolicy": "polling",
    "AsyncResult": "results",
    "Order": "results",
    "Result": "results",
    **dict.fromkeys(
        (
            "ApiError",
            "AuthenticationError",
            "BackdropClientError",
            "InsufficientCredits",
            "InvalidRequest",
            "NotFound",
            "OrderFailed",
            "OrderTimeout",
            "RateLimited",
            "ServerError",
            "TransportError",
        ),
        "errors",
    ),
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "LIGHTX_BASE_URL",
    "ApiError",
    "AsyncClient",
    "AsyncResult",
    "AuthenticationError",
    "BackdropClientError",
    "Client",
    "InsufficientCredits",
    "InvalidRequest",
    "NotFound",
    "Order",
    "OrderFailed",
    "OrderTimeout",
    "PollSchedule",
    "RateLimited",
    "Result",
    "RetryPolicy",
    "ServerError",
    "TransportError",
]
