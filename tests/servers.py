"""Start a real `backdrop serve` process for tests: its key, its URL, its log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(
        self,
        process: subprocess.Popen[str],
        base_url: str,
        api_key: str,
        data_dir: Path,
        log_path: Path,
    ) -> None:
        self.process = process
        self.data_dir = data_dir
        self.base_url = base_url
        self.api_key = api_key
        self.log_path = log_path
        self.port = int(base_url.rsplit(":", 1)[1])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(60)


def start_server(
    data_dir: Path, env: dict[str, str] | None = None, *, first_start: bool = True
) -> Server:
    """A server on a free port of 127.0.0.1, healthy, with the key its first start made
    (empty on a later start in the same data dir)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"serve-{port}.log"
    full_env = {
        **os.environ,
        "BACKDROP_PORT": str(port),
        "BACKDROP_DATA_DIR": str(data_dir),
        # Its stdout is a pipe: unbuffered, so each line arrives as it is printed.
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log_file: IO[str] = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "backdrop.cli", "serve"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
    )
    assert process.stdout is not None
    api_key = ""
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    if first_start:
        # The first start prints the new key alone on stdout, before it listens.
        api_key = process.stdout.readline().strip()
        assert api_key.startswith("bd_"), api_key
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health").status_code == 200:
                return Server(process, base_url, api_key, data_dir, log_path)
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"backdrop serve did not become healthy within 120 s:\n{log_path.read_text()}")


def create_key(server: Server, credits: float) -> str:
    """A new key in the server's database, made by the CLI as an operator would."""
    result = subprocess.run(
        [sys.executable, "-m", "backdrop.cli", "keys", "create", "--credits", str(credits)],
        env={**os.environ, "BACKDROP_DATA_DIR": str(server.data_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]
