"""`backdrop eval` as a user runs it, on a test-made folder with the real model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_commands import _backdrop
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
