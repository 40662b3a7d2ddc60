"""The per-CPU choice of runtime, precision and graph."""

from __future__ import annotations

from backdrop.engines.choice import choose
from backdrop.engines.cpu import CpuFeatures

CPU = ("CPUExecutionProvider",)
AVX2 = CpuFeatures("AMD EPYC 7R13", frozenset({"avx2", "fma"}))
BF16 = CpuFeatures("Intel Xeon 8488C", frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16"}))
ZEN4 = CpuFeatures("AMD EPYC 9R14", frozenset({"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}))
OLD = CpuFeatures("Intel Xeon E5-2670", frozenset({"sse4_2", "avx"}))


def test_amx_keeps_the_fp32_graph_computed_in_bf16() -> None:
    choice = choose(BF16, "auto", "auto", CPU, has_openvino=True)
    assert (choice.runtime, choice.precision, choice.graph) == ("openvino", "bf16", "fp32")
    assert "Intel Xeon 8488C" in choice.reason and "AMX" in choice.reason


def test_avx512_bf16_without_amx_gets_the_int8_graph() -> None:
    # Measured on a Zen 4: int8 0.28 of the bare model's time, bf16 0.51.
    choice = choose(ZEN4, "auto", "auto", CPU, has_openvino=True)
    assert (choice.precision, choice.graph) == ("f32", "int8")
    assert "no AMX (VNNI)" in choice.reason


def test_a_cpu_without_avx2_runs_f32() -> None:
    choice = choose(OLD, "auto", "auto", CPU, has_openvino=True)
    assert (choice.precision, choice.graph) == ("f32", "fp32")
    assert "no AVX2" in choice.reason


def test_an_avx2_cpu_gets_the_int8_graph() -> None:
    choice = choose(AVX2, "auto", "auto", CPU, has_openvino=True)
    assert (choice.runtime, choice.precision, choice.graph) == ("openvino", "f32", "int8")
    assert "no AMX (no VNNI)" in choice.reason
    # Without OpenVINO the int8 graph still pays on onnxruntime.
    assert choose(AVX2, "auto", "auto", CPU, has_openvino=False).graph == "int8"
    # bf16 units do nothing for onnxruntime's CPU kernels.
    assert choose(BF16, "onnxruntime", "auto", CPU, has_openvino=True).graph == "int8"


def test_a_gpu_runs_fp32_and_settings_override() -> None:
    gpu = choose(AVX2, "auto", "auto", ("CUDAExecutionProvider", *CPU), has_openvino=True)
    assert (gpu.runtime, gpu.graph) == ("onnxruntime", "fp32")
    forced = choose(BF16, "auto", "f32", CPU, has_openvino=True)
    assert (forced.precision, forced.graph) == ("f32", "fp32")
    assert "settings" in forced.reason
    assert choose(BF16, "auto", "int8", CPU, has_openvino=True).graph == "int8"
