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
