"""`backdrop serve`'s HTTP server: uvicorn with the connection guard and a graceful drain.

On SIGTERM (or Ctrl-C) the server first drains while it still answers: new orders get 503,
status calls keep working, the running orders finish (bounded by worker.drain_seconds). Only
then does uvicorn stop listening. Queued orders stay `init` for the next start. The process
exits 0.
"""

from __future__ import annotations

import errno
import logging
import resource
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import Protocol

import uvicorn
from fastapi import FastAPI

from backdrop.api.forwarded import TrustedProxies
from backdrop.serving.connections import ConnectionGuard, guarded_protocol
from backdrop.settings import Settings

log = logging.getLogger(__name__)

# File descriptors kept back from the connection cap: database, model and image files, logs.
_SPARE_FILES = 128


def raise_open_files(wanted: int) -> int:
    """Raise the soft open-file limit towards `wanted` (within the hard limit); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


class Drainable(Protocol):
    def drain(self) -> None:
        """Take no new work and let the running work finish (bounded)."""
        ...


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose first SIGTERM/SIGINT drains the node before stopping."""

    def __init__(
        self,
        config: uvicorn.Config,
        node: Drainable,
        on_listening: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._node = node
        self._drain_started = False
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # uvicorn exits inside startup when it cannot bind: getting here means it listens.
        if self.started and self._on_listening is not None:
            self._on_listening()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn re-raises a captured signal after it stops, which would end the process
        # with that signal; a drained server exits 0 instead, so nothing is recorded here.
        if self._drain_started:
            # A second signal: stop now (the running orders are redone after a restart).
            self.should_exit = True
            self.force_exit = sig == signal.SIGINT
            return
        self._drain_started = True
        threading.Thread(target=self._drain_then_exit, name="backdrop-drain", daemon=True).start()

    def _drain_then_exit(self) -> None:
        try:
            self._node.drain()
        finally:
            self.should_exit = True


class PortTaken(Exception):
    """Another process listens on the address `serve` was asked to bind."""


def check_port_free(host: str, port: int) -> None:
    """Bind and release (host, port) as uvicorn will, to find a taken port in milliseconds.

    `serve` checks before loading the model, which takes seconds; a race with another process
    taking the port in between still ends in uvicorn's own error.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn does: a port left in TIME_WAIT by a stopped server is free to reuse.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortTaken(f"{host}:{port}") from error
            raise


def serve(
    app: FastAPI,
    node: Drainable,
    settings: Settings,
    on_listening: Callable[[], None] | None = None,
) -> None:
    """Run `app` until a signal has drained it; `on_listening` runs once it accepts connections."""
    server_settings = settings.connections
    open_files = raise_open_files(server_settings.open_files)
    guard = ConnectionGuard(
        max_connections=max(1, min(server_settings.max_connections, open_files - _SPARE_FILES)),
        max_per_address=server_settings.max_connections_per_address,
        header_timeout=server_settings.header_timeout_seconds,
        body_timeout=server_settings.body_timeout_seconds,
        # A proxy's connections carry many clients: only the server-wide cap applies to them.
        exempt=TrustedProxies.parse(settings.trusted_proxies).trusts,
    )
    log.info(
        "open files %d; at most %d connections, %d per address%s",
        open_files,
        guard.max_connections,
        guard.max_per_address,
        f" (trusted proxies exempt: {', '.join(settings.trusted_proxies)})"
        if settings.trusted_proxies
        else "",
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(guard),
        # backdrop.access logs each request (without query strings); uvicorn's line would
        # print signed upload URLs.
        access_log=False,
        log_config=None,
        # The app reads forwarded headers itself, from BACKDROP_TRUSTED_PROXIES only
        # (api/proxy_headers.py); uvicorn's would trust loopback and FORWARDED_ALLOW_IPS.
        proxy_headers=False,
        # Requests still open after the drain get this long before they are cancelled.
        timeout_graceful_shutdown=10,
    )
    DrainingServer(config, node, on_listening).run()
