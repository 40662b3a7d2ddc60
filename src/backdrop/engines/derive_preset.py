"""The int8 graph of a preset model (BiRefNet, U²-Net, ISNet-anime), made at fetch time.

The recipe is ISNet's (engines/derive.py, engines/quantize.py): NNCF int8 QDQ, calibrated on
the photos scikit-image ships (never evaluation data), each run through the model's own
preprocessing, with the head left in float. ISNet's head is named by hand; here it is found
in the graph: the convolutions nearest the output (the ones that turn features into the
logits, whose range int8 cannot hold without crushing the edge values).

`onnx` is imported inside the functions that need it: only `models fetch` derives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backdrop.engines.model_presets import ModelFormat, preset_batch
from backdrop.engines.quantize import calibration_photos, quantize_int8
from backdrop.errors import NotEnoughMemory


@dataclass(frozen=True)
class PresetInt8:
    """A `Derivation` (engines/derive.py): `model_format`'s fp32 graph as NNCF int8.

    `transformer` tells NNCF the graph holds attention blocks (BiRefNet's Swin backbone), so
    it keeps the parts that int8 handles badly there (softmax, layer norms) in float.
    """

    model_format: ModelFormat
    transformer: bool = False
    # Peak memory of the derivation, in GB (docs/MODELS.md). Refused up front where less is
    # available: the OOM killer would otherwise end `models fetch` minutes in, with no word
    # of why. 0 = small, not checked.
    memory_gb: float = 0.0

    def __call__(self, fp32: Path, dest: Path) -> None:
        import onnx

        if self.memory_gb > 0:
            available = available_memory_gb()
            if available is not None and available < self.memory_gb:
                raise NotEnoughMemory(
                    f"making {dest.name} needs about {self.memory_gb:.0f} GB of memory and "
                    f"{available:.1f} GB is available"
                )

        model = onnx.load(str(fp32), load_external_data=False)
        input_name = self.model_format.input_name or model.graph.input[0].name
        output_name = self.model_format.output_name or model.graph.output[0].name
        head = head_convolutions(model.graph.node, output_name)
        del model  # the quantiser loads the file itself; a 1 GB graph should not stay twice
        batches = [preset_batch(photo, self.model_format) for photo in calibration_photos()]
        quantize_int8(
            fp32,
            dest,
            batches,
            input_name=input_name,
            float_nodes=head,
            transformer=self.transformer,
        )


def available_memory_gb() -> float | None:
    """The kernel's estimate of memory available without swapping (Linux), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


# Layers with weights: the walk back from the output stops at the first of these on each path.
_WEIGHTED = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})


def head_convolutions(nodes: Sequence[Any], output: str) -> tuple[str, ...]:
    """The names of the weighted layers nearest `output`: walking back from it through nodes
    without weights (activations, resizes, concatenations), the first Conv (or MatMul) on
    each path.

    For U²-Net that is the 1x1 fusion of the side outputs; for ISNet, `/side1/Conv`.
    """
    producer = {name: node for node in nodes for name in node.output if name}
    found: list[str] = []
    seen: set[int] = set()
    stack = [output]
    while stack:
        tensor = stack.pop()
        node = producer.get(tensor)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op_type in _WEIGHTED:
            if node.name:
                found.append(node.name)
            continue
        stack.extend(name for name in node.input if name)
    return tuple(found)
