"""Photoroom's API with curl, as its docs call it, against a real `backdrop serve` process."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import jpeg_bytes, subject_photo
from tests.servers import Server, create_key, free_port, start_server

PHOTO = jpeg_bytes(subject_photo()[0])
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


@pytest.fixture(scope="module")
def image_host() -> Iterator[str]:
    """A shop's image CDN on this machine, holding photo.jpg."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(PHOTO)))
            self.end_headers()
            self.wfile.write(PHOTO)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, image_host: str) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("photoroom") / "data"
    running = start_server(data, {"BACKDROP_FETCH__ALLOWED_HOSTS": json.dumps([image_host])})
    yield running
    running.stop()


def _curl(*args: str, output: Path) -> tuple[int, dict[str, str]]:
    """Run curl; the status and the answer's headers (lower-case names)."""
    headers = output.with_suffix(".headers")
    result = subprocess.run(
        ["curl", "-sS", "-o", str(output), "-D", str(headers), "-w", "%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = headers.read_text().splitlines()[1:]
    parsed = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines) if v}
    return int(result.stdout), parsed


def _credits(server: Server, key: str, tmp_path: Path) -> float:
    out = tmp_path / "account.json"
    _curl(f"{server.base_url}/v1.0/account", "-H", f"x-api-key: {key}", output=out)
    total: float = json.loads(out.read_text())["data"]["attributes"]["credits"]["total"]
    return total


def test_segment_and_edit_with_curl(server: Server, image_host: str, tmp_path: Path) -> None:
    key = create_key(server, 10)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(PHOTO)
    # The call in Photoroom's docs, with its URL changed.
    result = tmp_path / "result.webp"
    status, headers = _curl(
        "--request", "POST", "--url", f"{server.base_url}/v1/segment",
        "--header", f"x-api-key: {key}",
        "--form", f"image_file=@{photo}", "--form", "format=webp",
        output=result,
    )  # fmt: skip
    assert status == 200 and headers["content-type"] == "image/webp"
    assert 0 <= float(headers["x-uncertainty-score"]) < 0.15
    assert Image.open(result).size == (640, 480)
    assert _credits(server, key, tmp_path) == 9.5

    # GET /v2/edit with the photo on an allowed host: a white 800 x 800 with a soft shadow.
    square = tmp_path / "square.jpg"
    status, headers = _curl(
        "--get", f"{server.base_url}/v2/edit",
        "--header", f"x-api-key: {key}",
        "--data-urlencode", f"imageUrl=http://{image_host}/photo.jpg",
        "--data-urlencode", "background.color=FFFFFF",
        "--data-urlencode", "outputSize=800x800",
        "--data-urlencode", "padding=0.1",
        "--data-urlencode", "shadow.mode=ai.soft",
        "--data-urlencode", "export.format=jpeg",
        "--data-urlencode", "export.dpi=300",
        output=square,
    )  # fmt: skip
    assert status == 200, square.read_text(errors="replace")
    image = Image.open(square)
    assert image.format == "JPEG" and image.size == (800, 800) and image.info["dpi"] == (300, 300)
    corner = np.asarray(image.convert("RGB"))[5, 5]
    assert corner.min() > 245  # white
    assert _credits(server, key, tmp_path) == 9.0

    # POST /v2/edit, multipart, with a refused value: Photoroom's error shape, nothing charged.
    refused = tmp_path / "refused.json"
    status, headers = _curl(
        "--request", "POST", "--url", f"{server.base_url}/v2/edit",
        "--header", f"x-api-key: {key}",
        "--form", f"imageFile=@{photo}", "--form", "padding=0.6",
        output=refused,
    )  # fmt: skip
    body = json.loads(refused.read_text())
    assert status == 400 and body["status_code"] == 400 and body["type"] == "invalid_request"
    assert "padding" in body["detail"] and body["error"]["message"] == body["detail"]
    # A wrong key: 403, in the same shape.
    status, _ = _curl(
        "--request", "POST", "--url", f"{server.base_url}/v1/segment",
        "--header", "x-api-key: bd_wrong", "--form", f"image_file=@{photo}",
        output=refused,
    )  # fmt: skip
    assert status == 403 and json.loads(refused.read_text())["type"] == "invalid_api_key"
    assert _credits(server, key, tmp_path) == 9.0


def test_a_curl_that_gives_up_is_not_charged(server: Server, tmp_path: Path) -> None:
    """curl --max-time 1 on a 12 MP photo: the request ends before its answer, the order is
    cancelled and nothing is charged (the order desk's rule for every one-call API)."""
    key = create_key(server, 10)
    photo = tmp_path / "big.jpg"
    photo.write_bytes(jpeg_bytes(subject_photo(4000, 3000)[0], quality=80))
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "1", "-o", str(tmp_path / "never.png"),
         "--url", f"{server.base_url}/v2/edit", "--header", f"x-api-key: {key}",
         "--form", f"imageFile=@{photo}", "--form", "shadow.mode=ai.soft"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 28, result.stderr  # curl's "operation timed out"
    deadline = time.monotonic() + 120
    while "POST /v2/edit 499" not in server.log() or "no longer this run's" not in server.log():
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.2)
    assert _credits(server, key, tmp_path) == 10
