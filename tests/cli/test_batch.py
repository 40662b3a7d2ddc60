"""`backdrop remove` / `generate` as batches: folders, --jobs, skipping, summary, Ctrl-C, remote."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from backdrop.cli import runs
from backdrop.engines import pipeline
from backdrop.engines.segmentation import Segmenter
from backdrop.engines.studio import StudioGenerator
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import Settings
from tests.cli.process import run_backdrop as _backdrop
from tests.client.live import live_server
from tests.conftest import jpeg_bytes, subject_photo


def _photos(folder: Path, names: list[str], size: tuple[int, int] = (320, 240)) -> None:
    photo = subject_photo(*size)[0]
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(jpeg_bytes(photo))


@pytest.fixture
def base_url(runtime: EmbeddedNode) -> Iterator[str]:
    with live_server(runtime) as url:
        yield url


def test_remote_batch_recurses_skips_existing_and_reports_credits(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    _photos(photos, ["a.jpg", "sub/b.jpg"])
    (photos / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    env = {"BACKDROP_SERVER": base_url, "BACKDROP_API_KEY": api_key}
    run = _backdrop("remove", str(photos), "-o", str(out), "--jobs", "2", data_dir=tmp_path, **env)
    assert run.returncode == 0, run.stderr
    for stem in ("a", "sub/b"):
        cutout = Image.open(out / f"{stem}.png")
        assert cutout.mode == "RGBA" and cutout.getchannel("A").getpixel((0, 0)) == 0
        assert Image.open(out / f"{stem}.mask.png").size == (320, 240)
    assert "2 done" in run.stderr and "1 credits used" in run.stderr

    again = _backdrop("remove", str(photos), "-o", str(out), data_dir=tmp_path, **env)
    assert again.returncode == 0 and "0 done" in again.stderr and "2 skipped" in again.stderr
    redo = _backdrop(
        "remove", str(photos / "a.jpg"), "-o", str(out), "--overwrite", data_dir=tmp_path, **env
    )
    assert redo.returncode == 0 and "1 done" in redo.stderr and "0.5 credits used" in redo.stderr


def test_remote_generate_and_a_bad_key(base_url: str, api_key: str, tmp_path: Path) -> None:
    _photos(tmp_path, ["cat.jpg"])
    out = tmp_path / "out"
    run = _backdrop(
        "generate",
        str(tmp_path / "cat.jpg"),
        "-o",
        str(out),
        "--prompt",
        "night",
        "--server",
        base_url,
        "--api-key",
        api_key,
        data_dir=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    result = Image.open(out / "cat.jpg")
    assert result.format == "JPEG" and result.size == (320, 240)
    assert "1 credits used" in run.stderr
    denied = _backdrop(
        "generate",
        str(tmp_path / "cat.jpg"),
        "-o",
        str(tmp_path / "o2"),
        "--prompt",
        "x",
        "--server",
        base_url,
        "--api-key",
        "bd_nope",
        data_dir=tmp_path,
    )
    assert denied.returncode == 1 and "INVALID_API_KEY" in denied.stderr
    missing = _backdrop(
        "remove",
        str(tmp_path / "cat.jpg"),
        "-o",
        str(out),
        "--server",
        base_url,
        data_dir=tmp_path,
        BACKDROP_API_KEY="",
    )
    assert missing.returncode == 2 and "--api-key" in missing.stderr


def test_local_generate_matches_the_pipeline_and_failures_exit_non_zero(
    segmenter: Segmenter, tmp_path: Path
) -> None:
    _photos(tmp_path, ["ball.jpg"])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    out = tmp_path / "out"
    run = _backdrop(
        "generate",
        str(tmp_path / "ball.jpg"),
        str(tmp_path / "broken.jpg"),
        "-o",
        str(out),
        "--prompt",
        "sunset",
        "--seed",
        "7",
        "--jobs",
        "2",
        data_dir=tmp_path,
    )
    assert run.returncode == 1
    assert "1 done" in run.stderr and "1 failed" in run.stderr and "broken.jpg" in run.stderr
    expected = pipeline.generate_background(
        Image.open(tmp_path / "ball.jpg").convert("RGB"),
        segmenter,
        StudioGenerator(),
        "sunset",
        seed=7,
    )
    written = np.asarray(Image.open(out / "ball.jpg").convert("RGB"), dtype=np.int16)
    assert np.abs(written - np.asarray(expected, dtype=np.int16)).mean() < 2.0
    assert not (out / "broken.jpg").exists()


def test_local_jobs_share_one_segmenter(
    segmenter: Segmenter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backdrop.engines.placement as placement

    created: list[str] = []

    def counting(model_id: str, **_: object) -> Segmenter:
        created.append(model_id)
        return segmenter

    monkeypatch.setattr(placement, "create_segmenter", counting)
    _photos(tmp_path / "in", ["1.jpg", "2.jpg", "3.jpg"], size=(160, 120))
    options = runs.BatchOptions([tmp_path / "in"], tmp_path / "out", 3, False, None, None)
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    code = runs.remove(Settings(), options, None, "isnet-general", console)
    assert code == 0 and created == ["isnet-general"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "1.mask.png",
        "1.png",
        "2.mask.png",
        "2.png",
        "3.mask.png",
        "3.png",
    ]


def test_ctrl_c_stops_cleanly_without_half_written_files(tmp_path: Path) -> None:
    _photos(tmp_path / "in", [f"{n:02d}.jpg" for n in range(12)], size=(640, 480))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "backdrop.cli", "remove", str(tmp_path / "in"), "-o", str(out)],
        env={**os.environ, "BACKDROP_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run started in the background (`make test &`) inherits an
        # ignored SIGINT, and Python keeps an ignored SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("*.mask.png")):
        assert time.monotonic() < deadline and process.poll() is None, "no output appeared"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    names = sorted(p.name for p in out.iterdir())
    assert not [name for name in names if name.startswith(".tmp-")], names
    cutouts = [name for name in names if not name.endswith(".mask.png")]
    assert 1 <= len(cutouts) < 12
    for name in cutouts:
        # Each cutout has its mask, and both decode completely.
        Image.open(out / name).load()
        Image.open(out / name.replace(".png", ".mask.png")).load()
    assert len(names) == 2 * len(cutouts)
