"""A real backdrop server on a free port: uvicorn in a thread over the test runtime."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from backdrop.api.app import create_app
from backdrop.serving.node import EmbeddedNode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(runtime: EmbeddedNode) -> Iterator[str]:
    """Serve `runtime` over HTTP until the block ends; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime.api), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
