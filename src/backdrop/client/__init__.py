"""The backdrop Python SDK: the LightX API over HTTP, sync (`Client`) and async (`AsyncClient`).

The same code talks to a backdrop server or to LightX itself; only the base URL and key differ.
"""

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
