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
    add_scale_branch,
    fetch_derived,
    model_for_quality,
    to_fp32_output_only,
)
from backdrop.engines.quantize import (
    CALIBRATION_PHOTOS,
    MIRRORED,
    calibration_photos,
    quantize_int8,
)
from backdrop.engines.weights import UrlSource, WeightsSpec, sha256_file
from tests.engines.tiny_onnx import tiny_computed_weight_model

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


def test_the_transformer_recipe_quantises_a_matmul_with_a_computed_weight(
    tmp_path: Path,
) -> None:
    """BiRefNet's graph has such MatMuls; NNCF's SmoothQuant (part of its transformer recipe)
    crashed on them (`'NoneType' object has no attribute 'shape'`), so it is turned off."""
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    onnx.save(tiny_computed_weight_model(), str(fp32))
    calibration = [RNG.normal(size=(1, 3, 32, 32)).astype(np.float32) for _ in range(4)]

    quantize_int8(fp32, int8, calibration, transformer=True)

    ops = {node.op_type for node in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "MatMul"} <= ops
    batch = RNG.normal(size=(1, 3, 32, 32)).astype(np.float32)
    expected = _run(fp32, batch)
    assert np.abs(_run(int8, batch) - expected).mean() < 0.1 * np.abs(expected).mean()


def test_nodes_named_float_stay_float(tmp_path: Path) -> None:
    source, fp32, int8 = tmp_path / "fp16.onnx", tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    _isnet_like_fp16(source)
    to_fp32_output_only(source, fp32)
    model = onnx.load(str(fp32))
    for index, node in enumerate(model.graph.node):
        node.name = node.name or f"node{index}"  # ignored scopes go by name
    onnx.save(model, str(fp32))
    convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
    calibration = [RNG.uniform(-0.5, 0.5, (1, 3, 8, 8)).astype(np.float32) for _ in range(2)]

    quantize_int8(fp32, int8, calibration, float_nodes=convs)

    graph = onnx.load(str(int8)).graph
    fed_by_dq = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    kept = [n for n in graph.node if n.name in convs]
    assert kept and not any(set(n.input) & fed_by_dq for n in kept)


def test_calibration_photos_are_real_fixed_and_rgb() -> None:
    photos = calibration_photos()
    assert len(photos) == len(CALIBRATION_PHOTOS) + MIRRORED
    assert all(photo.mode == "RGB" and min(photo.size) >= 256 for photo in photos)
    # The mirrored copies are the first photos flipped, not new pictures.
    first, mirrored = np.asarray(photos[0]), np.asarray(photos[len(CALIBRATION_PHOTOS)])
    np.testing.assert_array_equal(mirrored, first[:, ::-1])
    assert photos[0].size == (512, 512)  # skimage's astronaut, the set's first


def test_quality_picks_the_derived_variants() -> None:
    assert model_for_quality("isnet-general", "balanced") == "isnet-general"
    assert model_for_quality("isnet-general", "best") == "isnet-general-mirror"
    assert model_for_quality("isnet-general", "fast") == "isnet-general-int8"
    assert model_for_quality("my-birefnet", "fast") == "my-birefnet"  # no variant: unchanged
    with pytest.raises(ValueError, match="fast, balanced, best"):
        model_for_quality("isnet-general", "ultra")


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


def _fixed_size_net(size: int) -> onnx.ModelProto:
    """A net exported the way ISNet is: it pools, then upsamples back to sizes written in as
    constants (Concat of the batch/channel dims read at run time and a constant [H, W])."""
    rng = np.random.default_rng(3)
    weight = numpy_helper.from_array(rng.normal(0, 0.5, (2, 3, 3, 3)).astype(np.float32), "w")
    head = numpy_helper.from_array(rng.normal(0, 0.5, (1, 2, 3, 3)).astype(np.float32), "h")

    def constant(name: str, values: list[int]) -> onnx.NodeProto:
        array = np.array(values, np.int64)
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array))

    nodes = [
        helper.make_node("Conv", ["input", "w"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("MaxPool", ["pool"], ["pool2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["relu"], ["shape"]),
        constant("starts", [0]),
        constant("ends", [2]),
        helper.make_node("Slice", ["shape", "starts", "ends"], ["nc"]),
        constant("half", [size // 2, size // 2]),
        helper.make_node("Concat", ["nc", "half"], ["half_sizes"], axis=0),
        helper.make_node("Resize", ["pool2", "", "", "half_sizes"], ["up2"], mode="linear"),
        helper.make_node("Add", ["pool", "up2"], ["merged"]),
        constant("hw", [size, size]),
        helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
        helper.make_node("Resize", ["merged", "", "", "sizes"], ["up"], mode="linear"),
        helper.make_node("Conv", ["up", "h"], ["logits"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["logits"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fixed-size",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, size, size])],
        [weight, head],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _run_model(model: onnx.ModelProto, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["output"], {"input": batch})[0])


def _resize(batch: np.ndarray, size: int) -> np.ndarray:
    """Bilinear, half-pixel centres: what the graph's Resize does, computed by another library."""
    import cv2

    planes = [cv2.resize(plane, (size, size), interpolation=cv2.INTER_LINEAR) for plane in batch[0]]
    return np.stack(planes)[None].astype(np.float32)


def test_scale_branch_blends_the_net_at_two_sizes(tmp_path: Path) -> None:
    model = _fixed_size_net(16)
    batch = RNG.uniform(-0.5, 0.5, (1, 3, 16, 16)).astype(np.float32)
    at_16 = _run_model(model, batch)
    # The same net exported at 24: what the branch must compute on the enlarged input.
    at_24 = _run_model(_fixed_size_net(24), _resize(batch, 24))

    add_scale_branch(model, 24, own_weight=0.7)
    onnx.checker.check_model(model)
    blended = _run_model(model, batch)

    assert blended.shape == (1, 1, 16, 16)
    np.testing.assert_allclose(blended, 0.7 * at_16 + 0.3 * _resize(at_24, 16), atol=1e-5)
    # Weights are shared, not copied: the file is no bigger by a second set of them.
    assert len(model.graph.initializer) == 2 + 4
    # The branch differs from the original: the blend is not just the original.
    assert float(np.abs(blended - at_16).max()) > 1e-3


def test_scale_branch_refuses_a_size_that_breaks_the_constants() -> None:
    with pytest.raises(ValueError, match="does not keep"):
        add_scale_branch(_fixed_size_net(16), 17)  # the inner size 8 would become 8.5
