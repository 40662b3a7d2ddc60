"""A real, tiny ONNX segmentation graph the tests build themselves (no downloaded weights).

`pixels` float32 [1, 3, S, S] -> `logits` float32 [1, 1, S, S] = gain * mean over channels.
After ImageNet normalisation a bright pixel gives a large positive value and a dark one a
negative value, so a white subject on black comes out as the subject under either the
BiRefNet preset (sigmoid) or the U²-Net preset (min-max).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image


def tiny_segmentation_model(size: int, gain: float = 4.0) -> bytes:
    """The serialised graph for input size `size` x `size`."""
    pixels = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, size, size])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, size, size])
    gain_init = numpy_helper.from_array(np.array(gain, dtype=np.float32), name="gain")
    nodes = [
        helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["mean", "gain"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "tiny-segmenter", [pixels], [logits], [gain_init])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_tiny_model(path: Path, size: int) -> Path:
    path.write_bytes(tiny_segmentation_model(size))
    return path


def white_square_on_black(width: int = 96, height: int = 64) -> tuple[Image.Image, np.ndarray]:
    """A white rectangle on black, and its true mask."""
    truth = np.zeros((height, width), dtype=np.uint8)
    truth[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = 255
    image = Image.fromarray(np.stack([truth] * 3, axis=-1))
    return image, truth


def tiny_conv_segmentation_model(
    size: int,
    *,
    input_name: str = "input_image",
    output_name: str = "output_image",
    gain: float = 4.0,
    bias: float = 0.0,
    sigmoid: bool = False,
) -> bytes:
    """A graph shaped like the published exports: a 3x3 convolution to 8 channels (ReLU), a 1x1
    head convolution to one map (`gain` x the mean of the channels + `bias`), and an optional
    sigmoid; input and output named as the exports name theirs. After the head a bright
    pixel is high and a dark one low, under any of the presets' normalisations (with `bias`
    centring inputs on 0..1 where the preset subtracts no mean)."""
    pixels = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, size, size])
    result = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [1, 1, size, size])
    # The body passes each channel through (and its negation, so ReLU keeps both signs).
    body = np.zeros((8, 3, 3, 3), dtype=np.float32)
    for channel in range(3):
        body[channel, channel, 1, 1] = 1.0
        body[3 + channel, channel, 1, 1] = -1.0
    head = np.zeros((1, 8, 1, 1), dtype=np.float32)
    head[0, :3, 0, 0] = gain / 3
    head[0, 3:6, 0, 0] = -gain / 3
    initializers = [
        numpy_helper.from_array(body, name="body.weight"),
        numpy_helper.from_array(head, name="head.weight"),
        numpy_helper.from_array(np.array([bias], dtype=np.float32), name="head.bias"),
    ]
    logits = "logits" if sigmoid else output_name
    nodes = [
        helper.make_node(
            "Conv", [input_name, "body.weight"], ["body"], name="/body/Conv", pads=[1] * 4
        ),
        helper.make_node("Relu", ["body"], ["features"], name="/body/Relu"),
        helper.make_node(
            "Conv", ["features", "head.weight", "head.bias"], [logits], name="/head/Conv"
        ),
    ]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", [logits], [output_name], name="/Sigmoid"))
    graph = helper.make_graph(nodes, "tiny-conv-segmenter", [pixels], [result], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def tiny_computed_weight_model(size: int = 32) -> onnx.ModelProto:
    """Conv -> tokens -> a MatMul whose weight is computed (a Transpose of a constant, as in
    exported attention blocks) -> back to a map -> a 1x1 head: input `input`, output `output`.
    NNCF's transformer recipe (SmoothQuant) once crashed on such a MatMul."""
    rng = np.random.default_rng(0)
    pixels = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])
    result = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, size, size])
    initializers = [
        numpy_helper.from_array(rng.normal(size=(8, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(size=(8, 8)).astype(np.float32), "matmul_w"),
        numpy_helper.from_array(np.array([1, 8, size * size], np.int64), "to_tokens"),
        numpy_helper.from_array(np.array([1, 8, size, size], np.int64), "to_map"),
        numpy_helper.from_array(rng.normal(size=(1, 8, 1, 1)).astype(np.float32), "head_w"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv_w"], ["features"], pads=[1, 1, 1, 1]),
        helper.make_node("Reshape", ["features", "to_tokens"], ["flat"]),
        helper.make_node("Transpose", ["flat"], ["tokens"], perm=[0, 2, 1]),
        helper.make_node("Transpose", ["matmul_w"], ["matmul_wt"], perm=[1, 0]),
        helper.make_node("MatMul", ["tokens", "matmul_wt"], ["mixed"]),
        helper.make_node("Transpose", ["mixed"], ["channels"], perm=[0, 2, 1]),
        helper.make_node("Reshape", ["channels", "to_map"], ["map"]),
        helper.make_node("Conv", ["map", "head_w"], ["output"], name="/head/Conv"),
    ]
    graph = helper.make_graph(nodes, "computed-weight", [pixels], [result], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
