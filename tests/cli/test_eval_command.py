"""`backdrop eval` as a user runs it, on a test-made folder with the real model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_commands import _backdrop
from tests.engines.tiny_onnx import write_tiny_model
from tests.evaluation.test_runner import make_folder


def test_eval_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    images, masks = make_folder(tmp_path)
    out = tmp_path / "scores.json"
    run = _backdrop(
        "eval", "--images", str(images), "--masks", str(masks), "--json", str(out),
        "--per-image", data_dir=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "ball" in run.stdout and "tall" in run.stdout and "mean of 2" in run.stdout
    data = json.loads(out.read_text())
    assert data["count"] == 2 and data["mean"]["iou"] > 0.9


def test_eval_reports_a_missing_folder(tmp_path: Path) -> None:
    run = _backdrop(
        "eval", "--images", str(tmp_path / "nope"), "--masks", str(tmp_path), data_dir=tmp_path
    )
    assert run.returncode == 1 and "not a folder" in " ".join(run.stderr.split())


def _tiny_model_config(tmp_path: Path) -> dict[str, str]:
    """A test-made U²-Net-shaped graph in models.json: the real engine, not the real weights."""
    tiny = write_tiny_model(tmp_path / "tiny.onnx", 320)
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"tiny": {"preset": "u2net", "path": str(tiny)}}))
    return {"BACKDROP_MODELS_CONFIG": str(config)}


def test_eval_prints_several_sets_side_by_side(tmp_path: Path) -> None:
    for name in ("davis", "berkeley"):
        (tmp_path / name).mkdir()
        make_folder(tmp_path / name)
    (tmp_path / "berkeley/masks/tall.png").unlink()
    (tmp_path / "berkeley/images/tall.jpg").unlink()
    out = tmp_path / "scores.json"
    run = _backdrop(
        "eval", str(tmp_path / "davis"), str(tmp_path / "berkeley"), "--model", "tiny",
        "--json", str(out), data_dir=tmp_path, COLUMNS="120", **_tiny_model_config(tmp_path),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    header = next(line for line in lines if "davis" in line)
    # A column per set, in the order given, each headed by its name and image count, and a
    # row per figure with every set's value on it.
    assert header.index("davis (2)") < header.index("berkeley (1)")
    data = json.loads(out.read_text())
    assert list(data["sets"]) == ["davis", "berkeley"]
    assert data["sets"]["davis"]["count"] == 2 and data["sets"]["berkeley"]["count"] == 1
    for figure, key, digits in (
        ("IoU", "iou", 3),
        ("MAE", "mae", 4),
        ("boundary F", "boundary_f", 3),
    ):
        row = next(line for line in lines if line.strip().startswith(figure))
        values = [f"{data['sets'][name]['mean'][key]:.{digits}f}" for name in data["sets"]]
        assert row.split()[-2:] == values


def test_eval_checks_every_set_before_scoring_any(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    make_folder(tmp_path / "good")
    (tmp_path / "bad").mkdir()
    images, masks = make_folder(tmp_path / "bad")
    (masks / "ball.png").unlink()
    run = _backdrop(
        "eval", str(tmp_path / "good"), str(tmp_path / "bad"), "--model", "tiny",
        data_dir=tmp_path, **_tiny_model_config(tmp_path),
    )  # fmt: skip
    assert run.returncode == 1 and "lack an image or mask file: ball" in run.stderr
    alone = _backdrop("eval", "--images", str(images), data_dir=tmp_path)
    assert alone.returncode == 1 and "--images and --masks together" in alone.stderr
