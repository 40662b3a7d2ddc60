"""Real infrastructure for scale-out tests: moto's S3 server, brokers, unique names.

moto_server is started by the tests themselves on a free loopback port; RabbitMQ and Redis
are the local servers (shared with other test runs, hence a unique queue name per test).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

RABBITMQ_URL = os.environ.get("BACKDROP_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("BACKDROP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BROKERS = {"rabbitmq": RABBITMQ_URL, "redis": REDIS_URL}
# moto accepts any credentials; boto3 needs some to sign with.
S3_ENV = {"AWS_ACCESS_KEY_ID": "backdrop-test", "AWS_SECRET_ACCESS_KEY": "backdrop-test-secret"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@contextmanager
def moto_server(log_path: Path) -> Iterator[str]:
    """moto's standalone S3 server on a free loopback port; yields its endpoint URL."""
    for name, value in S3_ENV.items():
        os.environ.setdefault(name, value)
    binary = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(url)
            yield url
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server for the whole run."""
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url
