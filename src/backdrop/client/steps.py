"""What an SDK flow asks its driver to do, and the driver's side of the conversation.

A flow is a generator: it yields steps (send a request, sleep, run blocking work) and is sent
back what each step gave. The logic lives in the flows, written once; the sync and async
clients only perform the steps, so neither can drift from the other.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar, cast

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """Send one HTTP request; the reply is its httpx.Response or the httpx.TransportError."""

    method: str
    url: str
    json: dict[str, Any] | None = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None

    def via(self, request: Callable[..., T]) -> T:
        """`request` (an httpx client's `request` method, blocking or async) called for this."""
        return request(
            self.method, self.url, json=self.json, content=self.content, headers=self.headers
        )


@dataclass(frozen=True)
class Sleep:
    """Wait this long; the flow ignores the reply."""

    seconds: float


@dataclass(frozen=True)
class Offload:
    """Run blocking work (reading an image) off the event loop; the reply is its result."""

    call: Callable[[], object]


Step: TypeAlias = Send | Sleep | Offload
Flow: TypeAlias = Generator[Step, object, T]


def exchange(request: Send) -> Flow[httpx.Response | httpx.TransportError]:
    # The casts state the drivers' contract: a step's reply is of the type its step names.
    reply = yield request
    return cast(httpx.Response | httpx.TransportError, reply)


def sleep(seconds: float) -> Flow[None]:
    yield Sleep(seconds)


def offload(call: Callable[[], T]) -> Flow[T]:
    reply = yield Offload(call)
    return cast(T, reply)


class Conversation(Generic[T]):
    """A flow run one step at a time by a driver; `result` is set once `step` gives None."""

    result: T

    def __init__(self, flow: Flow[T]) -> None:
        self._flow = flow
        self._reply: object = None  # a generator's first send must be None

    def step(self) -> Step | None:
        try:
            return self._flow.send(self._reply)
        except StopIteration as finished:
            self.result = finished.value
            return None

    def reply(self, value: object) -> None:
        self._reply = value
