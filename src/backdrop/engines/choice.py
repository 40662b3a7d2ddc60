"""One default for every CPU: the runtime, precision and graph a model runs in, chosen at start.

- A CUDA GPU (through onnxruntime): the fp32 graph.
- A CPU with bf16 units (AVX512-BF16, AMX) on OpenVINO: the fp32 graph computed in bf16,
  4-5x faster than f32 there with the same dev-set scores (bench/RESULTS.md).
- Any other CPU (AVX2): the int8 graph, when the model has one, the rest of it in f32. On an
  AVX2-only CPU the fp32 graph runs at the bare model's speed; the int8 one in about half the
  time (bench/RESULTS.md).

An explicit `BACKDROP_INFERENCE__PRECISION` (f32, bf16, int8) overrides the choice. Each
choice carries its reason in words, which `backdrop serve` and `backdrop remove` print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from backdrop.engines.cpu import CpuFeatures
from backdrop.engines.inference import GPU_PROVIDERS, choose_runtime

# "own": the model has a single file, whatever it holds (the registry decides).
Graph = Literal["fp32", "int8", "own"]


@dataclass(frozen=True)
class RuntimeChoice:
    """Where and how a model runs, and why."""

    runtime: str  # "openvino" or "onnxruntime"
    precision: str  # OpenVINO's compute precision for float layers: "bf16" or "f32"
    graph: Graph
    reason: str


def choose(
    cpu: CpuFeatures,
    requested_runtime: str,
    requested_precision: str,
    providers: Sequence[str],
    *,
    has_openvino: bool | None = None,
) -> RuntimeChoice:
    """The choice for this machine; `providers` are onnxruntime's usable ones, preferred first."""
    runtime = choose_runtime(requested_runtime, providers, has_openvino=has_openvino)
    on_gpu = runtime == "onnxruntime" and bool(GPU_PROVIDERS & set(providers[:1]))
    cpu_words = f"{cpu.model_name}, {cpu.isa_summary()}"
    if requested_precision != "auto":
        graph: Graph = "int8" if requested_precision == "int8" else "fp32"
        precision = "bf16" if requested_precision == "bf16" else "f32"
        return RuntimeChoice(
            runtime, precision, graph, f"precision {requested_precision} set in the settings"
        )
    if on_gpu:
        return RuntimeChoice(runtime, "f32", "fp32", f"a GPU through onnxruntime ({providers[0]})")
    if runtime == "openvino" and cpu.bf16:
        return RuntimeChoice(
            runtime,
            "bf16",
            "fp32",
            f"{cpu_words}: bf16 units, so the fp32 graph is computed in bf16 "
            "(4-5x faster than f32, same scores)",
        )
    return RuntimeChoice(
        runtime,
        "f32",
        "int8",
        f"{cpu_words}: no bf16 units, so the int8 graph (about 2x faster than f32 on such a CPU)",
    )
