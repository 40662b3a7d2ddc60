"""A segmentation graph made to take a batch of uint8 pictures: built once, cached beside it.

From a model's ONNX file (whatever its batch dimension), `batch_graph` writes a graph that:

- takes `pictures`, uint8 [N, H, W, 3] (RGB, already resized to the model's input), and
  `scale`, float32 [N, 1, 1, 1] (the per-picture brightness gain of engines that scale by
  each picture's maximum, else 1);
- normalises them inside the graph, `v * scale * gain[c] - offset[c]` into the model's NCHW
  float input: a quarter of the bytes cross to a GPU (uint8, not float32), and the per-pixel
  arithmetic runs where the model runs;
- has a free batch dimension `N` on its input, on its one output (the model's main one; side
  outputs nobody reads are pruned) and in Reshape shapes that hard-code a batch of 1;
- optionally computes in fp16 (`onnxconverter-common`, inputs and outputs kept as they are).

The file goes to `<models dir>/batch/<model>-<signature>.onnx`; a changed source file, recipe
or precision gets a new one. `onnx` is imported inside the functions that need it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PICTURES = "pictures"
SCALE = "scale"
PREDICTION = "prediction"
BATCH_DIM = "N"
CACHE_FOLDER = "batch"


class BatchUnsupported(RuntimeError):
    """The graph cannot be given a free batch dimension (a shape fixed inside it)."""


class Fp16Unavailable(BatchUnsupported):
    """fp16 was wanted but the converter is not installed."""


@dataclass(frozen=True)
class Normalisation:
    """The in-graph preprocessing: `v * scale * gain[c] - offset[c]` on 0..255 values."""

    gain: tuple[float, float, float]
    offset: tuple[float, float, float]


def cached_batch_graph(
    source: Path,
    normalisation: Normalisation,
    *,
    input_name: str | None = None,
    output_name: str | None = None,
    fp16: bool = False,
    cache_dir: Path | None = None,
) -> Path:
    """The batch graph for `source` (made on first use, then read from the cache)."""
    stat = source.stat()
    facts = (
        f"{source.name}:{stat.st_size}:{stat.st_mtime_ns}:{normalisation}:"
        f"{input_name}:{output_name}:{fp16}:{_VERSION}"
    )
    signature = hashlib.sha256(facts.encode()).hexdigest()[:12]
    folder = cache_dir or source.parent / CACHE_FOLDER
    target = folder / f"{source.stem}-{signature}{'-fp16' if fp16 else ''}.onnx"
    if target.is_file():
        return target
    model = batch_graph(
        source, normalisation, input_name=input_name, output_name=output_name, fp16=fp16
    )
    folder.mkdir(parents=True, exist_ok=True)
    _save_atomically(model, target)
    return target


# Bumped when the graph this module makes changes, so older cached files are not read.
_VERSION = 3


def batch_graph(
    source: Path,
    normalisation: Normalisation,
    *,
    input_name: str | None = None,
    output_name: str | None = None,
    fp16: bool = False,
) -> Any:
    """The batch graph of `source` as an `onnx.ModelProto` (see the module's docstring)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    initialisers = {init.name for init in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initialisers]
    if len(inputs) != 1:
        raise BatchUnsupported(f"{source.name} has {len(inputs)} inputs; one is supported")
    model_input = inputs[0] if input_name is None else _named(inputs, input_name)
    main = graph.output[0] if output_name is None else _named(list(graph.output), output_name)
    dims = model_input.type.tensor_type.shape.dim
    if len(dims) != 4 or dims[1].dim_value not in (0, 3):
        raise BatchUnsupported(f"{source.name}'s input is not NCHW with 3 channels")
    height, width = dims[2].dim_value, dims[3].dim_value

    # The main output only, with a free batch dimension; the shapes of intermediate values
    # are re-inferred by the runtime.
    main_name, main_type = main.name, main.type.tensor_type
    main_elem = main_type.elem_type
    main_dims: list[str | int] = [d.dim_param or d.dim_value for d in main_type.shape.dim]
    main_dims[0] = BATCH_DIM
    input_node_name = model_input.name
    input_dims: list[str | int] = [d.dim_param or d.dim_value for d in dims]
    input_dims[0] = BATCH_DIM
    model_input.CopyFrom(
        helper.make_tensor_value_info(
            input_node_name, model_input.type.tensor_type.elem_type, input_dims
        )
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(main_name, main_elem, main_dims))
    del graph.value_info[:]
    _free_reshape_batches(graph, numpy_helper)
    if fp16:
        # Before the front is added: the model's own float32 input and output stay (casts to
        # and from fp16 at its edges); the front's few per-pixel operations stay float32.
        model = _to_fp16(model)
        graph = model.graph
        model_input = _named(list(graph.input), input_node_name)
        main_name = graph.output[0].name

    # The front: uint8 NHWC pictures and a per-picture scale, normalised into the old input.
    graph.input.remove(model_input)
    pictures = helper.make_tensor_value_info(
        PICTURES, TensorProto.UINT8, [BATCH_DIM, height or "H", width or "W", 3]
    )
    scale = helper.make_tensor_value_info(SCALE, TensorProto.FLOAT, [BATCH_DIM, 1, 1, 1])
    gain = np.asarray(normalisation.gain, dtype=np.float32).reshape(1, 3, 1, 1)
    offset = np.asarray(normalisation.offset, dtype=np.float32).reshape(1, 3, 1, 1)
    graph.initializer.extend(
        [
            numpy_helper.from_array(gain, "batch_front_gain"),
            numpy_helper.from_array(offset, "batch_front_offset"),
        ]
    )
    front = [
        helper.make_node("Cast", [PICTURES], ["batch_front_float"], to=TensorProto.FLOAT),
        helper.make_node(
            "Transpose", ["batch_front_float"], ["batch_front_nchw"], perm=[0, 3, 1, 2]
        ),
        helper.make_node("Mul", ["batch_front_nchw", SCALE], ["batch_front_scaled"]),
        helper.make_node("Mul", ["batch_front_scaled", "batch_front_gain"], ["batch_front_gained"]),
        helper.make_node("Sub", ["batch_front_gained", "batch_front_offset"], [input_node_name]),
    ]
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend([*front, *nodes])
    graph.input.insert(0, scale)
    graph.input.insert(0, pictures)
    # The output gets one name whatever the model called it.
    graph.node.append(helper.make_node("Identity", [main_name], [PREDICTION]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(PREDICTION, main_elem, main_dims))
    onnx.checker.check_model(model)
    return model


def _named(values: Sequence[Any], name: str) -> Any:
    for value in values:
        if value.name == name:
            return value
    raise BatchUnsupported(f"the graph has no input or output named {name!r}")


def _free_reshape_batches(graph: Any, numpy_helper: Any) -> None:
    """Reshape targets that are constants starting with 1 get 0 there ("keep the input's
    batch"): exports traced at batch 1 write the batch into the shape."""
    shapes = {node.input[1] for node in graph.node if node.op_type == "Reshape"}
    for init in graph.initializer:
        if init.name in shapes:
            values = numpy_helper.to_array(init)
            if values.ndim == 1 and values.size > 1 and values[0] == 1:
                freed = values.copy()
                freed[0] = 0
                init.CopyFrom(numpy_helper.from_array(freed, init.name))


def _to_fp16(model: Any) -> Any:
    """The graph computing in fp16, its uint8/float32 inputs and float32 output unchanged."""
    try:
        from onnxconverter_common import float16  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as error:
        raise Fp16Unavailable(
            "fp16 needs the onnxconverter-common package (pip install backdrop[gpu])"
        ) from error
    # The converter names the casts it adds after their node: nodes sharing a name (ISNet's
    # export has such) would give two casts one output name.
    seen: set[str] = set()
    for index, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.name or node.op_type}_{index}"
        seen.add(node.name)
    # Resize is left to compute in fp16 (CUDA and TensorRT have fp16 kernels for it): kept
    # in fp32, the converter's casts around ISNet's Resize nodes collide in name.
    blocked = [op for op in float16.DEFAULT_OP_BLOCK_LIST if op != "Resize"]
    return float16.convert_float_to_float16(model, keep_io_types=True, op_block_list=blocked)


def _save_atomically(model: Any, target: Path) -> None:
    import onnx

    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        onnx.save(model, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
