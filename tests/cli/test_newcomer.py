"""What a new user meets with the CLI: shrunk uploads, plain errors, a readable model list."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from backdrop.cli import batch
from backdrop.cli.operations import RemoteRemove
from backdrop.client.images import MAX_UPLOAD_BYTES, NotAnImage
from tests.cli.process import run_backdrop
from tests.client.test_upload_prepare import phone_photo
from tests.conftest import png_bytes, subject_photo


class _Result:
    def output_bytes(self) -> bytes:
        return png_bytes(subject_photo(8, 8)[0])

    def mask_bytes(self) -> bytes:
        return png_bytes(subject_photo(8, 8)[0].convert("L"))


class _Client:
    """Records what would be uploaded."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def remove_background(self, image: Any, background: str, **_: Any) -> _Result:
        self.sent.append(image)
        return _Result()


def test_server_mode_says_per_image_that_it_shrank(tmp_path: Path) -> None:
    source = tmp_path / "IMG_0001.jpg"
    source.write_bytes(phone_photo())
    notes: list[str] = []
    client = _Client()
    remote = RemoteRemove(cast(Any, client), "transparent", notify=notes.append)
    remote.process(source)
    assert len(client.sent[0]) <= MAX_UPLOAD_BYTES
    assert len(notes) == 1 and notes[0].startswith(f"{source}: the image (")


def test_a_text_file_through_a_server_is_said_to_be_no_image(tmp_path: Path) -> None:
    source = tmp_path / "readme.jpg"
    source.write_text("not a photo")
    remote = RemoteRemove(cast(Any, _Client()), "transparent")
    with pytest.raises(NotAnImage) as caught:
        remote.process(source)
    said = batch.describe(caught.value)
    assert said == f"{source} is not an image: send a JPEG, PNG, WebP or HEIC file"
    assert "ValueError" not in said


def test_server_without_scheme_says_add_http(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes(subject_photo(8, 8)[0]))
    result = run_backdrop(
        "remove", str(image), "-o", str(tmp_path / "out"),
        "--server", "127.0.0.1:18731", "--api-key", "bd_x",
        data_dir=tmp_path / "data",
    )  # fmt: skip
    assert result.returncode == 2
    assert "use http://127.0.0.1:18731" in result.stderr
    assert "could not reach" not in result.stderr


def test_models_list_reads_at_80_columns(tmp_path: Path) -> None:
    result = run_backdrop("models", "list", data_dir=tmp_path, COLUMNS="80")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    # Ids whole (they are copied into --model), the default starred, descriptions readable.
    assert any(line.split()[:3] == ["isnet-general", "*", "yes"] for line in lines if line)
    assert any("isnet-general-multiscale" in line for line in lines)
    assert len(lines) < 45
