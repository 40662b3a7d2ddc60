"""Derived weights: fp32 output-only graphs and int8 QDQ quantisation, on tiny test-made graphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from backdrop.engines.derive import (
    DerivedWeights,
    calibration_images,
    fetch_derived,
    isnet_float_nodes,
    model_for_quality,
    quantize_int8,
    to_fp32_output_only,
)
from backdrop.engines.weights import UrlSource, WeightsSpec, sha256_file

RNG = np.random.default_rng(0)


def _isnet_like_fp16(path: Path) -> None:
    """An fp16 graph shaped like the shipped ISNet: casts around a float32 Resize, a side
    output, nodes out of topological order (as in the shipped file)."""
    weight = numpy_helper.from_array(RNG.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float16), "w")
    head = numpy_helper.from_array(RNG.normal(0, 0.5, (1, 4, 1, 1)).astype(np.float16), "h")
    nodes = [
        # Deliberately listed out of order: the sigmoid comes before what it reads.
        helper.make_node("Sigmoid", ["head_out"], ["sig"]),
        helper.make_node("Cast", ["sig"], ["output"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["input"], ["x16"], to=TensorProto.FLOAT16),
        helper.make_node("Conv", ["x16", "w"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("Cast", ["relu"], ["relu32"], to=TensorProto.FLOAT),
        helper.make_node("Resize", ["relu32", "", "scales"], ["up32"], mode="linear"),
        helper.make_node("Cast", ["up32"], ["up16"], to=TensorProto.FLOAT16),
        helper.make_node("Conv", ["up16", "h"], ["head_out"]),
        helper.make_node("Cast", ["relu"], ["side"], to=TensorProto.FLOAT),
        helper.make_node(
            "Constant",
            [],
            ["scales"],
            value=numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32)),
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "isnet-like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [
            helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 16, 16]),
            helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, 4, 8, 8]),
        ],
        [weight, head],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _run(path: Path, batch: np.ndarray, output: str = "output") -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run([output], {"input": batch})[0])


def test_fp32_output_only_keeps_the_main_output_and_its_values(tmp_path: Path) -> None:
    source, dest = tmp_path / "fp16.onnx", tmp_path / "fp32.onnx"
    _isnet_like_fp16(source)

    to_fp32_output_only(source, dest)

    model = onnx.load(str(dest))
    onnx.checker.check_model(model)  # also checks the nodes are now in topological order
    assert [o.name for o in model.graph.output] == ["output"]
    assert {i.data_type for i in model.graph.initializer} == {TensorProto.FLOAT}
    assert not [n for n in model.graph.node if n.op_type == "Cast"]
    batch = RNG.uniform(-0.5, 0.5, (1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_run(dest, batch), _run(source, batch), atol=2e-3)


def test_fp32_output_only_refuses_an_unknown_output(tmp_path: Path) -> None:
    source = tmp_path / "fp16.onnx"
    _isnet_like_fp16(source)
    with pytest.raises(ValueError, match="missing"):
        to_fp32_output_only(source, tmp_path / "out.onnx", keep_outputs=("missing",))
    assert not (tmp_path / "out.onnx").exists()


def test_int8_quantisation_writes_a_qdq_graph_close_to_fp32(tmp_path: Path) -> None:
    source, fp32, int8 = tmp_path / "fp16.onnx", tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    _isnet_like_fp16(source)
    to_fp32_output_only(source, fp32)
    calibration = [RNG.uniform(-0.5, 0.5, (1, 3, 8, 8)).astype(np.float32) for _ in range(4)]

    quantize_int8(fp32, int8, calibration)

    ops = {node.op_type for node in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    batch = RNG.uniform(-0.5, 0.5, (1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_run(int8, batch), _run(fp32, batch), atol=0.05)
    assert not list(tmp_path.glob(".quantize-*"))  # scratch folder gone


def test_calibration_images_are_seeded_and_varied() -> None:
    first = calibration_images(3, size=64)
    again = calibration_images(3, size=64)
    assert [np.asarray(i).tobytes() for i in first] == [np.asarray(i).tobytes() for i in again]
    assert all(i.size == (64, 64) and i.mode == "RGB" for i in first)
    assert len({np.asarray(i).tobytes() for i in first}) == 3


def test_quality_picks_the_derived_variant_only_when_fast() -> None:
    assert model_for_quality("isnet-general", "best") == "isnet-general"
    assert model_for_quality("isnet-general", "fast") == "isnet-general-int8"
    assert model_for_quality("my-birefnet", "fast") == "my-birefnet"  # no variant: unchanged
    with pytest.raises(ValueError, match="fast, best"):
        model_for_quality("isnet-general", "ultra")


def test_isnet_int8_keeps_the_decoder_and_head_in_float() -> None:
    names = ["/conv_in/Conv", "/stage1/rebnconvin/conv_s1/Conv", "/pool12/MaxPool",
             "/stage6/x/Conv", "/stage1d/x/Conv", "/side1/Conv", "/Resize_5", "/Sigmoid"]  # fmt: skip
    assert isnet_float_nodes(names) == ["/stage1d/x/Conv", "/side1/Conv", "/Resize_5", "/Sigmoid"]


def test_fetch_derived_derives_once_from_the_verified_base(tmp_path: Path) -> None:
    base_file = tmp_path / "base.onnx"
    _isnet_like_fp16(base_file)
    spec = WeightsSpec(
        "base.onnx", sha256_file(base_file), base_file.stat().st_size, UrlSource("http://x/")
    )
    calls: list[tuple[Path, Path]] = []

    def derive(source: Path, dest: Path) -> None:
        calls.append((source, dest))
        to_fp32_output_only(source, dest)

    weights = DerivedWeights("derived.onnx", spec, derive)
    # The base is present and valid, so nothing is downloaded (the URL is unreachable).
    path = fetch_derived(weights, tmp_path)
    assert path == tmp_path / "derived.onnx" and path.is_file()
    assert fetch_derived(weights, tmp_path) == path
    assert calls == [(base_file, path)]
    assert weights.source == spec.source
