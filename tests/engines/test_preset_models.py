"""The built-in catalogue of published models (BiRefNet, U²-Net, ISNet-anime): well-formed
entries, and each one downloaded, verified and run through the real segmentation path, from
a local HTTP server serving a test-made graph in place of the published file."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from backdrop.engines import derive_preset
from backdrop.engines.builtin_models import BUILTIN_MODELS
from backdrop.engines.cpu import CpuFeatures
from backdrop.engines.derive import DerivedWeights
from backdrop.engines.derive_preset import PresetInt8, head_convolutions
from backdrop.engines.model_install import fetch_model, is_installed
from backdrop.engines.model_presets import PRESETS, PresetEngine, PresetSegmenter
from backdrop.engines.model_spec import SegmentationModel
from backdrop.engines.placement import create_segmenter
from backdrop.engines.preset_models import PRESET_MODELS
from backdrop.engines.weights import UrlSource, WeightsSpec
from backdrop.errors import NotEnoughMemory, WeightsUnavailable
from backdrop.settings import InferenceSettings
from tests.engines import test_weights
from tests.engines.test_weights import Server
from tests.engines.tiny_onnx import tiny_conv_segmentation_model, white_square_on_black

server = test_weights.server  # the local http.server fixture

# model id -> (preset, input side, licence word)
EXPECTED = {
    "birefnet-general": ("birefnet", 1024, "MIT"),
    "birefnet-lite": ("birefnet", 1024, "MIT"),
    "birefnet-portrait": ("birefnet", 1024, "MIT"),
    "birefnet-matting": ("birefnet", 1024, "MIT"),
    "u2net": ("u2net", 320, "Apache-2.0"),
    "u2netp": ("u2net", 320, "Apache-2.0"),
    "isnet-anime": ("isnet-anime", 1024, "Apache-2.0"),
}
AVX2_CPU = CpuFeatures("AMD EPYC 7R13", frozenset({"avx2", "fma"}))
AMX_CPU = CpuFeatures("Intel Xeon 8488C", frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16"}))


def test_each_published_model_is_built_in_with_its_int8_graph() -> None:
    released = {model.model_id: model for model in PRESET_MODELS if model.int8_graph}
    assert set(released) == set(EXPECTED)
    for model_id, (preset, side, licence) in EXPECTED.items():
        model = BUILTIN_MODELS[model_id]
        weights = model.weights
        assert isinstance(weights, WeightsSpec) and isinstance(weights.source, UrlSource)
        assert weights.source.url.startswith("https://github.com/")
        assert weights.source.url.endswith(".onnx") and weights.filename == f"{model_id}.onnx"
        assert re.fullmatch(r"[0-9a-f]{64}", weights.sha256)
        assert weights.md5 is None or re.fullmatch(r"[0-9a-f]{32}", weights.md5)
        assert weights.size is not None and weights.size > 1_000_000
        assert licence in model.license
        assert (
            isinstance(model.engine, PresetEngine) and model.engine.model_format == PRESETS[preset]
        )
        assert PRESETS[preset].input_size == (side, side)
        int8 = BUILTIN_MODELS[f"{model_id}-int8"]
        assert model.int8_graph == int8.model_id and int8.int8_graph is None
        assert isinstance(int8.weights, DerivedWeights) and int8.weights.base == weights
        assert isinstance(int8.weights.derive, PresetInt8)
        assert int8.weights.derive.model_format == PRESETS[preset]
        # BiRefNet's backbone is a Swin transformer: NNCF's transformer recipe.
        assert int8.weights.derive.transformer == (preset == "birefnet")
        assert int8.engine == model.engine and int8.license == model.license
    # Only the one file published without a redistributor's md5.
    assert [m for m in EXPECTED if BUILTIN_MODELS[m].weights.md5 is None] == ["birefnet-matting"]  # type: ignore[union-attr]
    filenames = [getattr(m.weights, "filename", None) for m in BUILTIN_MODELS.values()]
    released_files = [name for name in filenames if name and not name.startswith("isnet-general")]
    assert len(set(released_files)) == len(released_files)


def _served(model_id: str, server: Server, graph: bytes) -> SegmentationModel:
    """The built-in entry with its download pointed at `server`, pinned to `graph`'s bytes:
    everything else (engine, preset, int8 graph, derivation) is the catalogue's own."""
    model = BUILTIN_MODELS[model_id]
    assert isinstance(model.weights, WeightsSpec)
    server.files[f"/{model_id}.onnx"] = graph
    weights = replace(
        model.weights,
        sha256=hashlib.sha256(graph).hexdigest(),
        md5=hashlib.md5(graph).hexdigest(),
        size=len(graph),
        source=UrlSource(f"{server.base_url}/{model_id}.onnx"),
    )
    return replace(model, weights=weights)


def _catalog(model: SegmentationModel) -> dict[str, SegmentationModel]:
    """The built-ins with `model` and its int8 graph (re-based on its new weights)."""
    catalog = dict(BUILTIN_MODELS)
    catalog[model.model_id] = model
    assert model.int8_graph is not None
    int8 = catalog[model.int8_graph]
    assert isinstance(int8.weights, DerivedWeights)
    catalog[int8.model_id] = replace(int8, weights=replace(int8.weights, base=model.weights))
    return catalog


def _graph_for(model_id: str) -> bytes:
    preset, side, _ = EXPECTED[model_id]
    if preset == "isnet-anime":  # 0..1 input, the sigmoid inside the graph
        return tiny_conv_segmentation_model(side, gain=8.0, bias=-4.0, sigmoid=True)
    return tiny_conv_segmentation_model(side, input_name="input.1", output_name="1959")


@pytest.mark.parametrize("model_id", ["birefnet-lite", "u2netp", "isnet-anime"])
def test_a_catalogue_model_downloads_verifies_and_runs(
    tmp_path: Path, server: Server, model_id: str
) -> None:
    model = _served(model_id, server, _graph_for(model_id))
    catalog = _catalog(model)
    models = tmp_path / "models"
    settings = InferenceSettings(threads=1, runtime="onnxruntime")
    with pytest.raises(WeightsUnavailable, match=f"models fetch --model {model_id}"):
        create_segmenter(model_id, models_dir=models, catalog=catalog, inference=settings)

    path = fetch_model(model_id, models, catalog=catalog)

    assert path == models / f"{model_id}.onnx" and is_installed(model, models)
    assert server.hits == [f"/{model_id}.onnx"]
    engine = create_segmenter(
        model_id, models_dir=models, catalog=catalog, inference=settings, cpu=AMX_CPU
    )
    assert isinstance(engine, PresetSegmenter) and engine.model_path == path
    image, truth = white_square_on_black()
    mask = engine.predict(image)
    assert mask.shape == truth.shape
    assert ((mask >= 128) == (truth >= 128)).mean() > 0.97


def test_a_catalogue_model_runs_its_int8_graph_where_the_cpu_says_int8(
    tmp_path: Path, server: Server
) -> None:
    model = _served("u2netp", server, _graph_for("u2netp"))
    catalog = _catalog(model)
    models = tmp_path / "models"
    settings = InferenceSettings(threads=1, runtime="onnxruntime")
    fetch_model("u2netp", models, catalog=catalog)
    before = create_segmenter("u2netp", models_dir=models, catalog=catalog, cpu=AVX2_CPU)
    assert before.choice is not None and "u2netp-int8 is not installed" in before.choice.reason

    # Derived from the verified download: NNCF int8, calibrated on sample photos, the head
    # (the convolution to the logits) left in float.
    int8_path = fetch_model("u2netp-int8", models, catalog=catalog)

    assert int8_path == models / "u2netp-int8-nncf.onnx"
    graph = onnx.load(str(int8_path)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.node}
    dequantized = {node.output[0] for node in graph.node if node.op_type == "DequantizeLinear"}
    head = next(node for node in graph.node if node.name == "/head/Conv")
    assert head.input[1] not in dequantized  # float weights
    assert server.hits == ["/u2netp.onnx"]  # derived here, not downloaded again
    engine = create_segmenter(
        "u2netp", models_dir=models, catalog=catalog, inference=settings, cpu=AVX2_CPU
    )
    assert engine.model_path == int8_path and engine.model_id == "u2netp"
    image, truth = white_square_on_black()
    assert ((engine.predict(image) >= 128) == (truth >= 128)).mean() > 0.97


def test_a_download_that_fails_is_refused_with_what_to_do(tmp_path: Path, server: Server) -> None:
    model = _served("birefnet-lite", server, _graph_for("birefnet-lite"))
    gone = replace(
        model, weights=replace(model.weights, source=UrlSource(f"{server.base_url}/gone.onnx"))
    )
    models = tmp_path / "models"
    with pytest.raises(WeightsUnavailable) as caught:
        fetch_model("birefnet-lite", models, catalog=_catalog(gone))
    detail = caught.value.detail
    assert "cannot download" in detail and "404" in detail
    assert f"copy it to {models / 'birefnet-lite.onnx'}" in detail
    assert list(models.iterdir()) == []


def test_a_file_that_fails_its_publishers_md5_is_refused(tmp_path: Path, server: Server) -> None:
    model = _served("u2net", server, _graph_for("u2net"))
    assert isinstance(model.weights, WeightsSpec)
    wrong = replace(model, weights=replace(model.weights, md5="0" * 32))
    models = tmp_path / "models"
    with pytest.raises(WeightsUnavailable, match=r"expected md5 0{32}.*after 2 attempts"):
        fetch_model("u2net", models, catalog=_catalog(wrong))
    assert list(models.iterdir()) == []


def test_head_convolutions_are_the_ones_nearest_the_output() -> None:
    graph = onnx.load_from_string(tiny_conv_segmentation_model(8, sigmoid=True)).graph
    assert head_convolutions(graph.node, graph.output[0].name) == ("/head/Conv",)
    plain = onnx.load_from_string(tiny_conv_segmentation_model(8)).graph
    assert head_convolutions(plain.node, "output_image") == ("/head/Conv",)
    assert head_convolutions(plain.node, "nope") == ()


def test_u2net_scales_each_image_by_its_maximum(tmp_path: Path) -> None:
    # U²-Net's own test code divides by the image's maximum before the ImageNet mean/std:
    # a dim photo is brightened to full range first.
    engine = PresetSegmenter(tmp_path / "x.onnx", model_format=PRESETS["u2net"], model_id="m")
    image, _ = white_square_on_black(32, 32)
    dim = image.point(lambda v: v // 2)
    # Equal up to the rounding of the resize of 0..127 rather than 0..255 values.
    assert np.abs(engine._preprocess(dim) - engine._preprocess(image)).max() < 0.05
    anime = PresetSegmenter(tmp_path / "x.onnx", model_format=PRESETS["isnet-anime"], model_id="m")
    batch = anime._preprocess(image)
    assert batch.min() == 0.0 and batch.max() == 1.0  # 0..1, no mean or std


def test_an_int8_derivation_short_of_memory_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BiRefNet's NNCF derivation peaks at ~21 GB (lite, measured): on a smaller machine it
    is refused before NNCF starts, with what it needs and what there is."""
    int8 = BUILTIN_MODELS["birefnet-lite-int8"]
    assert isinstance(int8.weights, DerivedWeights)
    derive = int8.weights.derive
    assert isinstance(derive, PresetInt8) and derive.memory_gb >= 20
    monkeypatch.setattr(derive_preset, "available_memory_gb", lambda: 7.5)
    with pytest.raises(NotEnoughMemory, match=r"needs about 21 GB .* 7\.5 GB is available"):
        derive(tmp_path / "missing-fp32.onnx", tmp_path / "birefnet-lite-int8-nncf.onnx")
    assert not (tmp_path / "birefnet-lite-int8-nncf.onnx").exists()
    # The small models are not checked: their derivations take seconds and little memory.
    small = BUILTIN_MODELS["u2netp-int8"].weights
    assert isinstance(small, DerivedWeights) and isinstance(small.derive, PresetInt8)
    assert small.derive.memory_gb == 0
    assert derive_preset.available_memory_gb() is not None  # Linux: /proc/meminfo


def test_models_fetch_installs_the_model_and_says_why_its_int8_graph_was_not_made(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from backdrop.cli import main as cli
    from backdrop.engines import models_file

    model = _served("u2netp", server, _graph_for("u2netp"))
    catalog = _catalog(model)
    int8 = catalog["u2netp-int8"]
    assert isinstance(int8.weights, DerivedWeights) and isinstance(int8.weights.derive, PresetInt8)
    hungry = replace(int8.weights.derive, memory_gb=1e6)
    catalog["u2netp-int8"] = replace(int8, weights=replace(int8.weights, derive=hungry))
    monkeypatch.setattr(models_file, "load_catalog", lambda *args: catalog)
    monkeypatch.setattr(cli, "_cpu_choice", lambda settings: _int8_choice())
    monkeypatch.setenv("BACKDROP_MODELS_DIR", str(tmp_path / "models"))

    result = CliRunner().invoke(cli.app, ["models", "fetch", "--model", "u2netp"])

    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "u2netp-int8: not made: making u2netp-int8-nncf.onnx needs about 1000000 GB" in output
    assert "u2netp runs its fp32 graph here" in output
    assert is_installed(catalog["u2netp"], tmp_path / "models")
    assert not is_installed(catalog["u2netp-int8"], tmp_path / "models")


def _int8_choice() -> Any:
    from backdrop.engines.choice import choose

    return choose(AVX2_CPU, "auto", "auto", ["CPUExecutionProvider"])
