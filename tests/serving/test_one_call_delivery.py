"""remove.bg's one-call API keeps a charge only for an answer it could hand over: a client
that hangs up, or a restart that cuts its wait, leaves the order cancelled and uncharged."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import jpeg_bytes, subject_photo
from tests.servers import Server, start_server

REMOVEBG = "/v1.0/removebg"
ACCOUNT = "/external/api/v1/account"


def _slow_photo() -> bytes:
    # Large enough that its cutout takes well over a second on a shared 2-core machine.
    return jpeg_bytes(subject_photo(4000, 3000)[0], quality=80)


def _orders(server: Server) -> list[tuple[str, str, str | None, int]]:
    with sqlite3.connect(f"file:{server.data_dir / 'backdrop.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, status, failure_code, charged_cents FROM orders").fetchall()
    return [tuple(row) for row in rows]


def _credits(server: Server) -> float:
    answer = httpx.get(server.base_url + ACCOUNT, headers={"x-api-key": server.api_key})
    credits: float = answer.json()["body"]["credits"]
    return credits


def _wait_for(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_client_that_hangs_up_is_not_charged(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        try:
            httpx.post(
                server.base_url + REMOVEBG,
                files={"image_file": ("photo.jpg", _slow_photo(), "image/jpeg")},
                headers={"X-Api-Key": server.api_key},
                timeout=httpx.Timeout(30, read=1.0),
            )
            raise AssertionError("the answer came within a second; the test needs a slower one")
        except httpx.ReadTimeout:
            pass
        _wait_for(lambda: " 499 " in server.log(), 60, "the 499 access line")
        assert f"POST {REMOVEBG} 499" in server.log()
        # The run finishes and finds its order cancelled: its results are dropped.
        _wait_for(lambda: "no longer this run's" in server.log(), 120, "the run to finish")
        [(_, status, code, charged)] = _orders(server)
        assert (status, code, charged) == ("failed", "cancelled", 0)
        assert _credits(server) == 100.0
        results = server.data_dir / "files" / "results"
        assert not results.exists() or not any(results.iterdir())
    finally:
        assert server.stop() == 0


def test_a_restart_answers_the_waiting_client_503_naming_its_uncharged_order(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    key = server.api_key
    answers: list[httpx.Response] = []

    def call() -> None:
        answers.append(
            httpx.post(
                server.base_url + REMOVEBG,
                files={"image_file": ("photo.jpg", _slow_photo(), "image/jpeg")},
                headers={"X-Api-Key": key},
                timeout=60,
            )
        )

    caller = threading.Thread(target=call)
    caller.start()
    _wait_for(lambda: bool(_orders(server)), 60, "the order to be created")
    [(order_id, _, _, _)] = _orders(server)
    server.process.send_signal(signal.SIGTERM)
    caller.join(60)
    [answer] = answers
    assert answer.status_code == 503
    [error] = answer.json()["errors"]
    assert order_id in error["detail"] and "not charged" in error["detail"]
    assert server.process.wait(60) == 0
    assert _orders(server)[0][1:] == ("failed", "cancelled", 0)

    again = start_server(data_dir, first_start=False)
    try:
        again.api_key = key
        time.sleep(2)  # nothing left to resume: the cancelled order stays cancelled
        assert _orders(again)[0][1:] == ("failed", "cancelled", 0)
        assert _credits(again) == 100.0
    finally:
        assert again.stop() == 0
