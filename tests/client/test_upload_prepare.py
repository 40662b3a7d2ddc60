"""What the SDK uploads: phone photos over 5 MB shrunk to fit, HEIC as it is, no non-images."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backdrop.client.core import checked_base_url
from backdrop.client.images import MAX_UPLOAD_BYTES, NotAnImage, as_upload
from tests.conftest import subject_photo
from tests.heic import heic_bytes


def phone_photo() -> bytes:
    """A 4032x3024 JPEG of more than 5 MB, as a phone writes one (noise keeps it large)."""
    rng = np.random.default_rng(7)
    coarse = Image.fromarray(rng.integers(0, 255, (378, 504, 3), dtype=np.uint8))
    smooth = np.asarray(coarse.resize((4032, 3024), Image.Resampling.BILINEAR), dtype=np.int16)
    pixels = np.clip(smooth + rng.integers(-20, 20, smooth.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=92)
    data = buffer.getvalue()
    assert len(data) > MAX_UPLOAD_BYTES
    return data


def test_a_photo_over_the_limit_is_shrunk_keeping_its_aspect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="backdrop.client"):
        upload = as_upload(phone_photo())
    assert upload.content_type == "image/jpeg" and len(upload.data) <= MAX_UPLOAD_BYTES
    with Image.open(io.BytesIO(upload.data)) as shrunk:
        width, height = shrunk.size
    assert abs(width / height - 4032 / 3024) < 0.01 and width > 2000
    assert upload.note is not None and "5 MB upload limit" in upload.note
    assert f"{width}x{height}" in upload.note and "JPEG quality 90" in upload.note
    assert upload.note in caplog.text


def test_an_image_under_the_limit_goes_as_it_is() -> None:
    data = heic_bytes(subject_photo()[0])
    upload = as_upload(data)
    assert (upload.data, upload.content_type, upload.note) == (data, "image/heic", None)


def test_a_text_file_is_said_to_be_no_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(NotAnImage, match=r"notes.txt is not an image: send a JPEG"):
        as_upload(path)


def test_a_server_address_without_scheme_says_what_to_add() -> None:
    with pytest.raises(ValueError, match=r"no scheme: use http://127.0.0.1:18731"):
        checked_base_url("127.0.0.1:18731")
    assert checked_base_url("http://127.0.0.1:18731/") == "http://127.0.0.1:18731"
