"""The runner on a test-made folder of two photos and masks, with the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backdrop.engines.segmentation import Segmenter
from backdrop.errors import InvalidRequest
from backdrop.evaluation.evaluate import evaluate, pair_files, pipeline_alpha
from tests.conftest import jpeg_bytes, subject_photo


def make_folder(root: Path) -> tuple[Path, Path]:
    images, masks = root / "images", root / "masks"
    images.mkdir()
    masks.mkdir()
    for stem, size in (("ball", (320, 240)), ("tall", (240, 320))):
        photo, truth = subject_photo(*size)
        (images / f"{stem}.jpg").write_bytes(jpeg_bytes(photo))
        Image.fromarray(truth).save(masks / f"{stem}.png")
    return images, masks


def test_scores_the_pipeline_alpha_per_image_and_on_average(
    tmp_path: Path, segmenter: Segmenter
) -> None:
    images, masks = make_folder(tmp_path)
    pairs = pair_files(images, masks)
    assert [p.stem for p in pairs] == ["ball", "tall"]
    seen: list[str] = []
    report = evaluate(
        pairs, pipeline_alpha(segmenter), max_pixels=10**7, on_result=lambda r: seen.append(r.stem)
    )
    assert seen == ["ball", "tall"]
    for result in report.results:
        assert result.scores.iou > 0.9
        assert result.scores.mae < 0.05
        assert result.scores.boundary_f > 0.8
        assert result.seconds > 0
    assert report.mean.iou == pytest.approx(np.mean([r.scores.iou for r in report.results]))
    data = report.to_json()
    assert data["count"] == 2 and [i["stem"] for i in data["images"]] == ["ball", "tall"]
    assert set(data["mean"]) == {"iou", "mae", "boundary_f", "seconds"}


def test_scores_come_from_the_alpha_against_the_masks(tmp_path: Path) -> None:
    images, masks = make_folder(tmp_path)
    # An alpha that is the inverted truth: everything wrong.
    truths = {p.stem: np.asarray(Image.open(p)) for p in masks.iterdir()}
    inverted = [255 - truths["ball"], 255 - truths["tall"]]
    report = evaluate(pair_files(images, masks), lambda image: inverted.pop(0), max_pixels=10**7)
    assert report.mean.iou == 0.0 and report.mean.mae == 1.0 and report.mean.boundary_f > 0.9
    assert report.mean_seconds < 0.1


def test_an_image_without_a_mask_is_an_error(tmp_path: Path) -> None:
    images, masks = make_folder(tmp_path)
    (masks / "tall.png").unlink()
    with pytest.raises(InvalidRequest, match="tall"):
        pair_files(images, masks)
    assert [p.stem for p in pair_files(images, masks, stems=["ball"])] == ["ball"]


def test_a_mask_of_another_size_is_an_error(tmp_path: Path) -> None:
    images, masks = make_folder(tmp_path)
    Image.new("L", (10, 10)).save(masks / "ball.png")
    with pytest.raises(InvalidRequest, match="ball"):
        evaluate(
            pair_files(images, masks), lambda image: np.zeros((1, 1), np.uint8), max_pixels=10**7
        )
