"""The models people ask for, built in: BiRefNet (general, lite, portrait, matting), U²-Net and
U²-NetP, ISNet-anime; each with the int8 graph the CPU choice runs on CPUs without AMX.

Every file is one its publisher released as ONNX, pinned by URL, size and sha256, and by the
md5 its redistributor publishes where one does (docs/MODELS.md, "Built-in catalogue", says
where each checksum comes from):

- BiRefNet: ZhengPeng7/BiRefNet's GitHub release `v1` (MIT). rembg redistributes the same
  files (its release `v0.0.0`) and publishes their md5; rembg's earlier code published the
  sha256 of the release's files, which other projects' records of rembg's copies match.
- U²-Net, U²-NetP: the ONNX exports in rembg's release `v0.0.0` (the authors publish PyTorch
  weights only; U²-Net is Apache-2.0); md5 published by rembg, sha256 from others' records.
- ISNet-anime: SkyTNT/anime-segmentation's `isnetis.onnx` (Apache-2.0), as rembg's release
  `isnet-anime.onnx`; md5 published by rembg, sha256 from others' records.

Each model's int8 graph is derived at fetch time like ISNet's (engines/derive_preset.py):
`backdrop models fetch --model M` makes `M-int8` too on CPUs whose choice is int8, and the
CPU choice (engines/choice.py) runs it there; AMX CPUs compute the fp32 graph in bf16, and a
GPU runs the fp32 graph.
"""

from __future__ import annotations

from backdrop.engines.derive import DerivedWeights
from backdrop.engines.derive_preset import PresetInt8
from backdrop.engines.model_presets import PRESETS, PresetEngine
from backdrop.engines.model_spec import SegmentationModel
from backdrop.engines.weights import UrlSource, WeightsSpec

_BIREFNET_RELEASE = "https://github.com/ZhengPeng7/BiRefNet/releases/download/v1/"
_REMBG_RELEASE = "https://github.com/danielgatis/rembg/releases/download/v0.0.0/"

BIREFNET_LICENSE = "MIT (BiRefNet, ZhengPeng7/BiRefNet)"
U2NET_LICENSE = "Apache-2.0 (U²-Net, xuebinqin/U-2-Net)"
ANIME_LICENSE = "Apache-2.0 (ISNet-anime, SkyTNT/anime-segmentation)"

# Peak memory of the int8 derivation (docs/MODELS.md). Lite's was measured on its architecture
# with random weights: 20.7 GB. Swin-L's was not measured; it has twice Swin-T's channels at
# every stage, hence about twice lite's.
_BIREFNET_LITE_DERIVE_GB = 21.0
_BIREFNET_DERIVE_GB = 40.0


def _weights(model_id: str, url: str, sha256: str, size: int, md5: str | None) -> WeightsSpec:
    return WeightsSpec(f"{model_id}.onnx", sha256, size, UrlSource(url), md5=md5)


def _with_int8(
    model_id: str,
    weights: WeightsSpec,
    preset: str,
    description: str,
    license: str,
    *,
    transformer: bool = False,
    derive_memory_gb: float = 0.0,
) -> tuple[SegmentationModel, SegmentationModel]:
    """The model as released, and its int8 graph derived at fetch time."""
    model_format = PRESETS[preset]
    engine = PresetEngine(model_format)
    int8_id = f"{model_id}-int8"
    return (
        SegmentationModel(
            model_id=model_id,
            weights=weights,
            engine=engine,
            description=description,
            license=license,
            int8_graph=int8_id,
        ),
        SegmentationModel(
            model_id=int8_id,
            weights=DerivedWeights(
                f"{model_id}-int8-nncf.onnx",
                weights,
                PresetInt8(model_format, transformer, derive_memory_gb),
            ),
            engine=engine,
            description=f"{model_id}, NNCF int8 QDQ calibrated on sample photos; what "
            f"{model_id} runs on CPUs without AMX (derived at fetch time)",
            license=license,
        ),
    )


PRESET_MODELS: tuple[SegmentationModel, ...] = (
    *_with_int8(
        "birefnet-general",
        _weights(
            "birefnet-general",
            _BIREFNET_RELEASE + "BiRefNet-general-epoch_244.onnx",
            "58f621f00f5d756097615970a88a791584600dcf7c45b18a0a6267535a1ebd3c",
            972_666_916,
            md5="7a35a0141cbbc80de11d9c9a28f52697",
        ),
        "birefnet",
        "BiRefNet general use (Swin-L, 1024²): fine edges, hair; slow on CPU",
        BIREFNET_LICENSE,
        transformer=True,
        derive_memory_gb=_BIREFNET_DERIVE_GB,
    ),
    *_with_int8(
        "birefnet-lite",
        _weights(
            "birefnet-lite",
            _BIREFNET_RELEASE + "BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx",
            "5600024376f572a557870a5eb0afb1e5961636bef4e1e22132025467d0f03333",
            224_005_088,
            md5="4fab47adc4ff364be1713e97b7e66334",
        ),
        "birefnet",
        "BiRefNet general use, lite (Swin-T, 1024²)",
        BIREFNET_LICENSE,
        transformer=True,
        derive_memory_gb=_BIREFNET_LITE_DERIVE_GB,
    ),
    *_with_int8(
        "birefnet-portrait",
        _weights(
            "birefnet-portrait",
            _BIREFNET_RELEASE + "BiRefNet-portrait-epoch_150.onnx",
            "1ba1c8ff5a7bbfadc8d8d13fb11d7be793f91f23d9d466549e37a854f6668f99",
            972_666_916,
            md5="c3a64a6abf20250d090cd055f12a3b67",
        ),
        "birefnet",
        "BiRefNet for portraits (Swin-L, 1024²)",
        BIREFNET_LICENSE,
        transformer=True,
        derive_memory_gb=_BIREFNET_DERIVE_GB,
    ),
    *_with_int8(
        "birefnet-matting",
        # Not redistributed by rembg, so no md5 is published for it.
        _weights(
            "birefnet-matting",
            _BIREFNET_RELEASE + "BiRefNet-matting-epoch_100.onnx",
            "6065d27c615ea27308f5b88598dd8db116eb07436c7a323ca40d13b2866c309e",
            972_667_742,
            md5=None,
        ),
        "birefnet",
        "BiRefNet for matting (Swin-L, 1024²): soft hair, fur, glass",
        BIREFNET_LICENSE,
        transformer=True,
        derive_memory_gb=_BIREFNET_DERIVE_GB,
    ),
    *_with_int8(
        "u2net",
        _weights(
            "u2net",
            _REMBG_RELEASE + "u2net.onnx",
            "8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491",
            175_997_641,
            md5="60024c5c889badc19c04ad937298a77b",
        ),
        "u2net",
        "U²-Net (320²): rembg's default",
        U2NET_LICENSE,
    ),
    *_with_int8(
        "u2netp",
        _weights(
            "u2netp",
            _REMBG_RELEASE + "u2netp.onnx",
            "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
            4_574_861,
            md5="8e83ca70e441ab06c318d82300c84806",
        ),
        "u2net",
        "U²-NetP (320²): tiny and fast; coarse edges",
        U2NET_LICENSE,
    ),
    *_with_int8(
        "isnet-anime",
        _weights(
            "isnet-anime",
            _REMBG_RELEASE + "isnet-anime.onnx",
            "f15622d853e8260172812b657053460e20806f04b9e05147d49af7bed31a6e99",
            176_069_933,
            md5="6f184e756bb3bd901c8849220a83e38e",
        ),
        "isnet-anime",
        "ISNet for anime and illustrations (1024²)",
        ANIME_LICENSE,
    ),
)
