"""Run the remove pipeline's alpha over a folder of images and score it against masks.

Images and masks are paired by file stem: `images/0042.jpg` goes with `masks/0042.png`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from backdrop.engines import pipeline
from backdrop.engines.segmentation import Segmenter
from backdrop.errors import InvalidRequest
from backdrop.evaluation.scores import DEFAULT_BOUNDARY_TOLERANCE, Mask, Scores, score
from backdrop.imaging.decode import load_image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})

AlphaFunction = Callable[[Image.Image], Mask]


@dataclass(frozen=True)
class Pair:
    """An image and its ground-truth mask."""

    stem: str
    image: Path
    mask: Path


@dataclass(frozen=True)
class ImageResult:
    stem: str
    scores: Scores
    seconds: float


@dataclass(frozen=True)
class EvalReport:
    """Per-image scores and their means (plain averages over images)."""

    results: list[ImageResult]
    mean: Scores
    mean_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "count": len(self.results),
            "mean": {**asdict(self.mean), "seconds": self.mean_seconds},
            "images": [
                {"stem": r.stem, **asdict(r.scores), "seconds": r.seconds} for r in self.results
            ],
        }


def _files_by_stem(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InvalidRequest(f"{folder} is not a folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in found:
                raise InvalidRequest(f"two files in {folder} share the stem {path.stem!r}")
            found[path.stem] = path
    return found


def pair_files(images_dir: Path, masks_dir: Path, stems: Iterable[str] | None = None) -> list[Pair]:
    """Images and masks paired by stem, sorted by stem; only `stems` if given.

    An image without a mask (or a requested stem without either) is an error, so a score is
    never quietly computed on fewer images than the caller believes.
    """
    images = _files_by_stem(images_dir)
    masks = _files_by_stem(masks_dir)
    wanted = sorted(images) if stems is None else list(stems)
    missing = [s for s in wanted if s not in images or s not in masks]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise InvalidRequest(f"{len(missing)} image(s) lack an image or mask file: {shown}")
    if not wanted:
        raise InvalidRequest(f"no images found in {images_dir}")
    return [Pair(stem=s, image=images[s], mask=masks[s]) for s in wanted]


def load_truth(path: Path) -> Mask:
    """A ground-truth mask as uint8 grey (0 background, 255 subject, 128 unknown)."""
    with Image.open(path) as mask:
        return np.asarray(mask.convert("L"), dtype=np.uint8)


def pipeline_alpha(segmenter: Segmenter) -> AlphaFunction:
    """The alpha the remove pipeline would use for an image."""

    def alpha(image: Image.Image) -> Mask:
        result: Mask = pipeline.subject_alpha(image, segmenter)
        return result

    return alpha


def evaluate(
    pairs: Sequence[Pair],
    alpha: AlphaFunction,
    *,
    max_pixels: int,
    tolerance: int = DEFAULT_BOUNDARY_TOLERANCE,
    on_result: Callable[[ImageResult], None] | None = None,
) -> EvalReport:
    """Score `alpha` on every pair; `seconds` times the alpha alone, not decoding or scoring."""
    results: list[ImageResult] = []
    for pair in pairs:
        image = load_image(pair.image, max_pixels=max_pixels)
        truth = load_truth(pair.mask)
        if truth.shape != (image.height, image.width):
            raise InvalidRequest(
                f"{pair.stem}: mask is {truth.shape[1]}x{truth.shape[0]}, "
                f"image is {image.width}x{image.height}"
            )
        start = time.perf_counter()
        predicted = alpha(image)
        seconds = time.perf_counter() - start
        result = ImageResult(pair.stem, score(predicted, truth, tolerance), seconds)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return summarise(results)


def summarise(results: Sequence[ImageResult]) -> EvalReport:
    """Means over images of each score and of the time."""
    if not results:
        raise ValueError("nothing to summarise")
    mean = Scores(
        iou=statistics.fmean(r.scores.iou for r in results),
        mae=statistics.fmean(r.scores.mae for r in results),
        boundary_f=statistics.fmean(r.scores.boundary_f for r in results),
    )
    return EvalReport(list(results), mean, statistics.fmean(r.seconds for r in results))
