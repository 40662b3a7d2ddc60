"""One default for every CPU: the runtime, precision and graph a model runs in, chosen at start.

- A CUDA GPU (through onnxruntime): the fp32 graph.
- A CPU with AMX (bf16 matrix units) on OpenVINO: the fp32 graph computed in bf16, 4-5x
  faster than f32 there with the same dev-set scores (bench/RESULTS.md, Xeon).
- A CPU with AVX2 (with or without VNNI, AVX512-BF16): the model's int8 graph, the rest of
  it in f32. Measured (bench/RESULTS.md): on an AVX2-only CPU the fp32 graph runs at the
  bare model's speed and the int8 one in 0.47 of it; on a Zen 4 (AVX512-BF16 and VNNI, no
  AMX) the int8 graph takes 0.28 of the bare model's time against 0.51 for bf16. So bf16
  without AMX does not pay; int8 does.
- A CPU without AVX2: the fp32 graph in f32 (int8 kernels there have no fast dot products).

An explicit `BACKDROP_INFERENCE__PRECISION` (f32, bf16, int8) overrides the choice. Each
choice carries its reason in words, which `backdrop serve` and `backdrop remove` print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from backdrop.engines.cpu import CpuFeatures
from backdrop.engines.inference import GPU_PROVIDERS, choose_runtime

# "own": the model has a single file, whatever it holds (engines/placement.py decides).
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
    if runtime == "openvino" and cpu.amx:
        return RuntimeChoice(
            runtime,
            "bf16",
            "fp32",
            f"{cpu_words}: AMX, so the fp32 graph is computed in bf16 "
            "(4-5x faster than f32, same scores)",
        )
    if not cpu.avx2:
        return RuntimeChoice(
            runtime, "f32", "fp32", f"{cpu_words}: no AVX2, so the fp32 graph in f32"
        )
    units = "VNNI" if cpu.int8_dot else "no VNNI"
    return RuntimeChoice(
        runtime,
        "f32",
        "int8",
        f"{cpu_words}: no AMX ({units}), so the int8 graph "
        "(about half the time of f32 or bf16 on such CPUs)",
    )
