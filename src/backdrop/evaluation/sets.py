"""The sets `backdrop eval` scores: set folders (each with images/ and masks/) and/or one
--images/--masks pair, each named for the table and checked before any model runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backdrop.errors import InvalidRequest
from backdrop.evaluation.evaluate import Pair, pair_files


@dataclass(frozen=True)
class EvalSet:
    """A named set of image/mask pairs."""

    name: str
    pairs: list[Pair]


def eval_sets(folders: Sequence[Path], images: Path | None, masks: Path | None) -> list[EvalSet]:
    """The sets to score, in the order given: each folder's images/ and masks/, then the
    --images/--masks pair if given. Every set is paired here, so a missing mask in the last
    set stops the run before the first set is scored, not after."""
    if (images is None) != (masks is None):
        raise InvalidRequest("give --images and --masks together")
    places = [(folder, folder / "images", folder / "masks") for folder in folders]
    if images is not None and masks is not None:
        places.append((images.parent if images.name == "images" else images, images, masks))
    if not places:
        raise InvalidRequest("give set folders (each with images/ and masks/) or --images/--masks")
    names = _names([folder for folder, _, _ in places])
    return [
        EvalSet(name, pair_files(image_dir, mask_dir))
        for name, (_, image_dir, mask_dir) in zip(names, places, strict=True)
    ]


def _names(folders: Sequence[Path]) -> list[str]:
    """Each folder's own name; the whole path where two sets would share one."""
    short = [folder.name or str(folder) for folder in folders]
    return [
        name if short.count(name) == 1 else str(folder)
        for name, folder in zip(short, folders, strict=True)
    ]
