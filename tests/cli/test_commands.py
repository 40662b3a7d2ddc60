"""The `backdrop` command as a user runs it: a real process with its own environment."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backdrop.common.files import new_file_mode
from tests.cli.process import run_backdrop as _backdrop
from tests.conftest import jpeg_bytes, subject_photo


def test_version_and_help(tmp_path: Path) -> None:
    version = _backdrop("--version", data_dir=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "0.1.0"
    helped = _backdrop("--help", data_dir=tmp_path)
    assert helped.returncode == 0
    for command in ("serve", "keys", "models", "remove"):
        assert command in helped.stdout


def test_keys_create_prints_the_key_last_and_list_hides_it(tmp_path: Path) -> None:
    created = _backdrop("keys", "create", "--credits", "12.5", "--name", "shop", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("bd_") and len(secret) > 40
    listed = _backdrop("keys", "list", data_dir=tmp_path)
    assert listed.returncode == 0
    assert "shop" in listed.stdout and "12.5" in listed.stdout
    assert secret not in listed.stdout
    negative = _backdrop("keys", "create", "--credits", "-1", data_dir=tmp_path)
    assert negative.returncode == 1 and "negative" in negative.stderr


def test_remove_writes_cutout_and_mask(tmp_path: Path) -> None:
    photo, truth = subject_photo()
    source = tmp_path / "ball.jpg"
    source.write_bytes(jpeg_bytes(photo))
    out = tmp_path / "out"
    run = _backdrop("remove", str(source), "-o", str(out), data_dir=tmp_path)
    assert run.returncode == 0, run.stderr
    for name in ("ball.png", "ball.mask.png"):  # the mode a plain write gives, not 0600
        assert stat.S_IMODE((out / name).stat().st_mode) == new_file_mode()
    cutout = Image.open(out / "ball.png")
    mask = Image.open(out / "ball.mask.png")
    assert cutout.mode == "RGBA" and cutout.size == photo.size
    alpha = np.asarray(mask.convert("L")) >= 128
    assert (alpha & (truth > 0)).sum() / (alpha | (truth > 0)).sum() > 0.9


def test_remove_on_a_colour_and_on_an_image(tmp_path: Path) -> None:
    photo, _ = subject_photo()
    source = tmp_path / "ball.jpg"
    source.write_bytes(jpeg_bytes(photo))
    backdrop_file = tmp_path / "wall.png"
    Image.new("RGB", (50, 50), (0, 128, 0)).save(backdrop_file)
    for background, expected in (("#ff0000", (255, 0, 0)), (str(backdrop_file), (0, 128, 0))):
        out = tmp_path / f"out-{expected[0]}"
        run = _backdrop(
            "remove", str(source), "-o", str(out), "--background", background, data_dir=tmp_path
        )
        assert run.returncode == 0, run.stderr
        composite = np.asarray(Image.open(out / "ball.png").convert("RGB"))
        assert tuple(int(v) for v in composite[3, 3]) == expected


def test_remove_reports_bad_files_and_exits_non_zero(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(jpeg_bytes(subject_photo()[0]))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"<html>not an image</html>")
    out = tmp_path / "out"
    run = _backdrop("remove", str(bad), str(good), "-o", str(out), data_dir=tmp_path)
    assert run.returncode == 1
    assert "bad.jpg" in run.stderr
    assert (out / "good.png").exists() and not (out / "bad.png").exists()
    unknown = _backdrop(
        "remove", str(good), "-o", str(out), "--background", "notacolour", data_dir=tmp_path
    )
    assert unknown.returncode == 1 and "#RRGGBB" in unknown.stderr


def test_models_fetch_is_a_quick_no_op_when_present(tmp_path: Path) -> None:
    run = _backdrop("models", "fetch", data_dir=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "isnet-general" in run.stderr


def test_generate_explain_prints_the_recipe(tmp_path: Path) -> None:
    import json

    run = _backdrop(
        "generate", "--prompt", "golden sand beach at sunset", "--explain", data_dir=tmp_path
    )
    assert run.returncode == 0, run.stderr
    recipe = json.loads(run.stdout)
    assert recipe["setting"] == "water" or recipe["scene"] == "beach"
    assert recipe["light"]["time_of_day"] == "sunset"
    missing = _backdrop("generate", "--prompt", "beach", data_dir=tmp_path)
    assert missing.returncode == 2 and "-o DIR" in missing.stderr


def test_generate_with_an_unknown_engine_fails_clearly(tmp_path: Path) -> None:
    source = tmp_path / "ball.jpg"
    source.write_bytes(jpeg_bytes(subject_photo()[0]))
    run = _backdrop(
        "generate",
        str(source),
        "-o",
        str(tmp_path / "out"),
        "--prompt",
        "x",
        "--engine",
        "nope",
        data_dir=tmp_path,
    )
    assert run.returncode == 1
    assert "known engines: studio, diffusion" in run.stderr


def test_remove_quality_fast_asks_for_the_int8_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "ball.jpg"
    source.write_bytes(jpeg_bytes(subject_photo()[0]))
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("BACKDROP_MODELS_DIR", str(empty))
    run = _backdrop(
        "remove", str(source), "-o", str(tmp_path / "out"), "--quality", "fast", data_dir=tmp_path
    )
    assert run.returncode != 0
    assert "backdrop models fetch --model isnet-general-int8" in run.stdout + run.stderr
