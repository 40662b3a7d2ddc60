"""Segmentation models the operator adds (any ONNX file on a preset: a fine-tuned BiRefNet,
a U²-Net of their own) in a JSON file, by default `<models_dir>/models.json`
(BACKDROP_MODELS_CONFIG), read by `load_catalog`:

    {
      "my-birefnet": {"preset": "birefnet", "url": "https://.../model.onnx",
                      "sha256": "<64 hex>", "size": 123, "license": "MIT"},
      "my-u2net": {"preset": "u2net", "path": "/srv/models/u2net.onnx"}
    }

The common published models are built in (engines/preset_models.py) and need no entry.

A catalog (built-ins + the operator's) feeds the CLI, the HTTP validation and the workers.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from backdrop.engines.builtin_models import BUILTIN_MODELS
from backdrop.engines.model_presets import ACTIVATIONS, PRESETS, ModelFormat, PresetEngine
from backdrop.engines.model_spec import LocalWeights, SegmentationModel
from backdrop.engines.weights import UrlSource, WeightsSpec
from backdrop.errors import BackdropError

CONFIG_FILENAME = "models.json"
_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class InvalidModelConfig(BackdropError):
    """The operator's models file cannot be used; says which entry and why."""

    http_status = 500
    status_code = 5032
    message = "INVALID_MODEL_CONFIG"


def config_path(models_dir: Path, config: Path | None = None) -> Path:
    """The operator's models file: `config` when given, else `<models_dir>/models.json`."""
    return config if config is not None else models_dir / CONFIG_FILENAME


def load_catalog(models_dir: Path, config: Path | None = None) -> dict[str, SegmentationModel]:
    """Built-in models plus those declared in the models file (if it exists)."""
    catalog = dict(BUILTIN_MODELS)
    path = config_path(models_dir, config)
    if not path.is_file():
        if config is not None:
            raise InvalidModelConfig(f"models file {path} does not exist")
        return catalog
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidModelConfig(f"cannot read models file {path}: {exc}") from exc
    if not isinstance(table, dict):
        raise InvalidModelConfig(f"models file {path} must hold a JSON object of id -> model")
    for model_id, entry in table.items():
        if model_id in catalog:
            # Ids that were free once are built in now (birefnet-general, u2net...): an entry
            # kept from then is refused with words that say what to do.
            raise InvalidModelConfig(
                f"{path}: {model_id!r} is a built-in model id; remove the entry to use the "
                f"built-in model (`backdrop models fetch --model {model_id}`), or rename it"
            )
        catalog[model_id] = parse_entry(model_id, entry, base=path.parent)
    return catalog


def parse_entry(model_id: str, entry: Any, *, base: Path) -> SegmentationModel:
    """One entry of the models file as a model; relative paths are relative to `base`."""

    def fail(reason: str) -> InvalidModelConfig:
        return InvalidModelConfig(f"model {model_id!r} in the models file: {reason}")

    if not _MODEL_ID.fullmatch(model_id):
        raise fail("ids are 1-40 characters of a-z, 0-9, '.', '_' and '-'")
    if not isinstance(entry, dict):
        raise fail("must be an object")
    known_keys = {
        "preset", "url", "sha256", "size", "path", "description", "license",
        "input_size", "mean", "std", "activation", "input", "output",
    }  # fmt: skip
    unknown = sorted(set(entry) - known_keys)
    if unknown:
        raise fail(f"unknown keys {', '.join(unknown)}")
    preset = entry.get("preset", "isnet")
    if preset not in PRESETS:
        raise fail(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    model_format = _format(PRESETS[preset], entry, fail)

    sha256 = entry.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256)):
        raise fail("sha256 must be 64 hex digits")
    weights: WeightsSpec | LocalWeights
    if ("url" in entry) == ("path" in entry):
        raise fail("give either url (with sha256) or path")
    if "url" in entry:
        url, size = entry["url"], entry.get("size")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise fail("url must be an http(s) URL")
        if sha256 is None:
            raise fail("a url needs its sha256, so the download can be verified")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise fail("size must be a positive number of bytes")
        weights = WeightsSpec(f"{model_id}.onnx", sha256.lower(), size, UrlSource(url))
    else:
        raw = entry["path"]
        if not isinstance(raw, str) or not raw:
            raise fail("path must be a file path")
        path = Path(raw).expanduser()
        weights = LocalWeights(path if path.is_absolute() else base / path, sha256)
    return SegmentationModel(
        model_id=model_id,
        weights=weights,
        engine=PresetEngine(model_format),
        description=str(entry.get("description") or f"{preset} preset (models file)"),
        license=str(entry.get("license") or "as stated by its source"),
        builtin=False,
    )


def _format(base: ModelFormat, entry: dict[str, Any], fail: Any) -> ModelFormat:
    """The preset with the entry's overrides, each checked."""
    changes: dict[str, Any] = {}
    if "input_size" in entry:
        size = entry["input_size"]
        if isinstance(size, int) and not isinstance(size, bool):
            size = [size, size]
        if not (isinstance(size, list) and len(size) == 2 and all(_positive_int(v) for v in size)):
            raise fail("input_size must be N or [width, height]")
        changes["input_size"] = (size[0], size[1])
    for key in ("mean", "std"):
        if key in entry:
            value = entry[key]
            if _number(value):
                value = [value] * 3
            if not (isinstance(value, list) and len(value) == 3 and all(map(_number, value))):
                raise fail(f"{key} must be a number or 3 numbers (RGB, on the 0..1 scale)")
            if key == "std" and min(value) <= 0:
                raise fail("std must be positive")
            changes[key] = (float(value[0]), float(value[1]), float(value[2]))
    if "activation" in entry:
        if entry["activation"] not in ACTIVATIONS:
            raise fail(f"activation must be one of {', '.join(ACTIVATIONS)}")
        changes["activation"] = entry["activation"]
    for key, field in (("input", "input_name"), ("output", "output_name")):
        if key in entry:
            if not isinstance(entry[key], str) or not entry[key]:
                raise fail(f"{key} must be the graph's {key} name")
            changes[field] = entry[key]
    return replace(base, **changes)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 8192


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
