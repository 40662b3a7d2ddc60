"""`Client` against a real server (real model, real HTTP)."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backdrop.client import (
    AuthenticationError,
    Client,
    InvalidRequest,
    NotFound,
    PollSchedule,
    Result,
)
from backdrop.common.files import new_file_mode
from tests.conftest import jpeg_bytes, subject_photo

# The server's first estimate is 5 s; tests poll sooner so they stay quick.
FAST = PollSchedule(max_interval=0.3)


def _iou(mask: Image.Image, truth: np.ndarray) -> float:
    predicted, actual = np.asarray(mask.convert("L")) >= 128, truth >= 128
    return float((predicted & actual).sum() / (predicted | actual).sum())


def test_remove_background_from_a_path_waits_and_saves(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    photo, truth = subject_photo()
    source = tmp_path / "ball.jpg"
    source.write_bytes(jpeg_bytes(photo))
    with Client(base_url, api_key=api_key, poll=FAST) as client:
        result = client.remove_background(source)
        assert isinstance(result, Result)
        assert result.status == "active" and result.order_id
        assert result.output_url and result.output_url.startswith(base_url)
        assert result.mask_url and result.mask_url.startswith(base_url)
        saved = result.save(tmp_path / "out" / "cutout.png")
        # Readable like any file the user writes (not mkstemp's 0600).
        assert stat.S_IMODE(saved.stat().st_mode) == new_file_mode()
        cutout = Image.open(saved)
        assert cutout.mode == "RGBA" and cutout.size == photo.size
        alpha = np.asarray(cutout.getchannel("A"))
        assert alpha[0, 0] == 0 and alpha[int(480 * 0.55), 320] == 255
        assert _iou(result.mask(), truth) > 0.9
        assert client.credits() == 10 - 0.5


def test_bytes_pil_and_uploaded_url_inputs_and_backgrounds(base_url: str, api_key: str) -> None:
    photo, _ = subject_photo()
    with Client(base_url, api_key=api_key, poll=FAST) as client:
        on_red = client.remove_background(jpeg_bytes(photo), "#ff0000").image().convert("RGB")
        assert on_red.getpixel((2, 2)) == (255, 0, 0)
        wall = Image.new("RGB", (40, 40), (0, 128, 0))
        uploaded = client.upload(photo)  # a PIL image, sent as JPEG
        on_wall = client.remove_background(uploaded, wall).image().convert("RGB")
        assert np.abs(np.subtract(on_wall.getpixel((2, 2)), (0, 128, 0))).max() <= 2
        assert client.credits() == 10 - 1.0


def test_wait_false_returns_the_pending_order_then_wait_finishes_it(
    base_url: str, api_key: str
) -> None:
    photo, _ = subject_photo(320, 240)
    with Client(base_url, api_key=api_key, poll=FAST) as client:
        pending = client.generate_background(photo, "sunset over the sea", wait=False)
        assert pending.status == "init" and pending.output_url is None
        assert pending.avg_response_seconds is not None and pending.max_retries_allowed == 5
        status = client.order_status(pending.order_id)
        assert status.order_id == pending.order_id
        done = client.wait(pending)
        assert done.status == "active" and done.mask_url is None
        output = Image.open(io.BytesIO(done.output_bytes()))
        assert output.format == "JPEG" and output.size == (320, 240)


def test_api_errors_are_typed_with_status_code_and_message(base_url: str, api_key: str) -> None:
    with Client(base_url, api_key="bd_wrong") as stranger:
        with pytest.raises(AuthenticationError) as denied:
            stranger.credits()
        assert denied.value.status_code == 4003 and denied.value.http_status == 403
        assert denied.value.message == "INVALID_API_KEY"
    with Client(base_url, api_key=api_key, poll=FAST) as client:
        with pytest.raises(NotFound) as missing:
            client.order_status("no-such-order")
        assert missing.value.status_code == 4004
        with pytest.raises(InvalidRequest) as foreign:
            client.remove_background("https://example.com/cat.jpg")
        assert foreign.value.status_code == 4006 and "external" in foreign.value.detail
        with pytest.raises(ValueError, match="not an image"):
            client.upload(b"<html>not an image</html>")
