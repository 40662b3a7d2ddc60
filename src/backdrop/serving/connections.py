"""Connection hygiene for uvicorn: header and body read timeouts, connection caps.

uvicorn (0.54) has neither a header-read nor a body-read timeout, nor any cap per client
address, and one client sending half a header on 20,000 sockets used up every file
descriptor. Its protocol class is pluggable (`Config(http=...)`), so these checks live in a
subclass of its h11 protocol rather than in a different server: the rest of uvicorn (lifespan,
signals, flow control) stays as tested upstream.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from backdrop.observability.metrics import CONNECTIONS_REFUSED

log = logging.getLogger(__name__)


@dataclass
class ConnectionGuard:
    """Counts open connections, in total and per client address, shared by all protocols."""

    max_connections: int
    max_per_address: int
    header_timeout: float
    body_timeout: float
    # Addresses the per-address cap does not apply to: trusted reverse proxies, whose
    # connections carry many clients. The cap acts when a connection opens, before any
    # header names the client behind the proxy; those clients' wrong-key lockout and rate
    # limits still count per client (api/proxy_headers.py), and the proxy's own limits
    # bound how many connections each of them holds.
    exempt: Callable[[str], bool] = field(default=lambda address: False)
    _per_address: Counter[str] = field(default_factory=Counter)
    _total: int = 0

    def admit(self, address: str) -> bool:
        if self._total >= self.max_connections:
            CONNECTIONS_REFUSED.labels("server_full").inc()
            return False
        counted = not self.exempt(address)
        if counted and self._per_address[address] >= self.max_per_address:
            CONNECTIONS_REFUSED.labels("address_full").inc()
            return False
        self._total += 1
        if counted:
            self._per_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self._total -= 1
        if address in self._per_address:
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    @property
    def open_connections(self) -> int:
        return self._total


def guarded_protocol(guard: ConnectionGuard) -> type[H11Protocol]:
    """uvicorn's h11 protocol, bound to `guard`."""

    class GuardedH11Protocol(H11Protocol):
        _admitted = False
        _address = ""
        _timer: asyncio.TimerHandle | None = None
        # "headers": an absolute deadline for the request head; "body": the longest pause
        # between two pieces of the body; None: the app is working or uvicorn's keep-alive
        # timer is in charge.
        _phase: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._address = self.client[0] if self.client else ""
            if not guard.admit(self._address):
                # Closed at once, with no answer: the fd is free again this instant.
                transport.abort()
                return
            self._admitted = True
            self._start("headers", guard.header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop()
            if self._admitted:
                self._admitted = False
                guard.release(self._address)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._follow()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._follow()

        def _follow(self) -> None:
            """Pick the timer that fits what the connection is waiting for now."""
            if self.transport.is_closing():
                self._stop()
                return
            state = self.conn.their_state
            if state is h11.SEND_BODY:
                self._start("body", guard.body_timeout)  # restarted by every piece
            elif state is h11.IDLE and self.conn.trailing_data[0]:
                if self._phase != "headers":  # the deadline is absolute, not restarted
                    self._start("headers", guard.header_timeout)
            elif state is h11.IDLE and self._phase == "headers" and self.cycle is None:
                pass  # a fresh connection that has sent nothing yet keeps its deadline
            else:
                self._stop()

        def _start(self, phase: str, seconds: float) -> None:
            self._stop()
            self._phase = phase
            self._timer = self.loop.call_later(seconds, self._expired)

        def _stop(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None
            self._phase = None

        def _expired(self) -> None:
            phase = self._phase
            self._timer = None
            if self.transport.is_closing():
                return
            if phase == "body" and self.flow.read_paused:
                # The app is not reading (its buffer is full): the client is not to blame.
                self._start("body", guard.body_timeout)
                return
            CONNECTIONS_REFUSED.labels(f"{phase}_timeout").inc()
            # One debug line: a slowloris must not be able to flood the log.
            log.debug("closing a connection from %s: %s timeout", self._address, phase)
            self.transport.close()

    return GuardedH11Protocol
