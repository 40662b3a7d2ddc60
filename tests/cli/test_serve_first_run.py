"""`backdrop serve` as a newcomer runs it: a ready block, a key never lost, a taken port named."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cli.process import run_backdrop
from tests.servers import start_server


def test_first_start_prints_the_page_the_key_and_the_next_command(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        # The block follows "listening"; give the console a moment after /health answers.
        deadline = time.monotonic() + 10
        while "backdrop is ready" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.log()
        assert f"Open http://127.0.0.1:{server.port}/ and paste this key" in log
        assert f"--server {server.base_url} --api-key <the key above>" in log
        assert server.api_key not in log  # the log (stderr) never holds a secret
        assert "alembic" not in log and "Running upgrade" not in log
        assert "deriving it" not in log

        # Another start on the same port fails at once, naming BACKDROP_PORT, and makes no key.
        started = time.monotonic()
        taken = run_backdrop("serve", data_dir=tmp_path / "other", BACKDROP_PORT=str(server.port))
        assert taken.returncode == 1
        assert time.monotonic() - started < 8  # before any model loads
        assert f"port {server.port} on 127.0.0.1 is already in use" in taken.stderr
        assert "BACKDROP_PORT=" in taken.stderr and "Errno" not in taken.stderr
        assert taken.stdout == ""
        keys = run_backdrop("keys", "list", data_dir=tmp_path / "other")
        assert "bd_" not in keys.stdout and "default" not in keys.stdout
    finally:
        server.stop()


def test_a_later_start_makes_no_key_and_says_where_to_get_one(tmp_path: Path) -> None:
    start_server(tmp_path / "data").stop()
    server = start_server(tmp_path / "data", first_start=False)
    try:
        deadline = time.monotonic() + 10
        while "backdrop is ready" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "paste your API key" in server.log()
        assert "backdrop keys create" in server.log()
    finally:
        server.stop()
