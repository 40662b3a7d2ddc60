"""Log lines: request ids, JSON on request, and never a signature or an API key."""

from __future__ import annotations

import json
import logging

import pytest

from backdrop.observability.logs import REQUEST_ID, configure_logging, redact
from backdrop.settings import LogSettings


def test_signatures_and_keys_are_redacted() -> None:
    line = "PUT /images/uploads/a.jpg?keyId=k&signature=9c1d0f&size=3 with bd_abcdefghijkl"
    clean = redact(line)
    assert "9c1d0f" not in clean and "bd_abcdefghijkl" not in clean
    assert "signature=REDACTED" in clean and "keyId=k" in clean


def test_json_lines_carry_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(LogSettings(format="json"))
        token = REQUEST_ID.set("req-7")
        logging.getLogger("backdrop.test").info("upload %s", "x?signature=deadbeef")
        REQUEST_ID.reset(token)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["request_id"] == "req-7" and record["level"] == "INFO"
    assert record["message"] == "upload x?signature=REDACTED"
