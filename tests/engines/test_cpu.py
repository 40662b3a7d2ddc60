"""CPU feature reading, on cpuinfo texts of the CPUs the project has met."""

from __future__ import annotations

from pathlib import Path

from backdrop.engines.cpu import parse_cpuinfo, read_cpu

ZEN4 = """processor\t: 0
model name\t: AMD EPYC 9R14
flags\t\t: fpu sse4_1 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni
"""
AVX2_ONLY = """model name\t: AMD EPYC 7R13
flags\t\t: fpu sse4_1 avx avx2 fma
"""
SAPPHIRE_RAPIDS = """model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: avx avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""


def test_bf16_and_vnni_are_read_from_the_flags() -> None:
    zen4 = parse_cpuinfo(ZEN4)
    assert zen4.model_name == "AMD EPYC 9R14"
    assert zen4.bf16 and zen4.int8_dot
    assert zen4.isa_summary() == "AVX-512, VNNI, AVX512-BF16"
    plain = parse_cpuinfo(AVX2_ONLY)
    assert not plain.bf16 and not plain.int8_dot
    assert plain.isa_summary() == "AVX2"
    assert parse_cpuinfo(SAPPHIRE_RAPIDS).isa_summary() == "AVX-512, VNNI, AVX512-BF16, AMX"


def test_a_onednn_isa_cap_hides_what_kernels_will_not_use() -> None:
    held = parse_cpuinfo(ZEN4, "AVX2")
    assert held.flags == parse_cpuinfo(AVX2_ONLY).flags
    assert held.isa_summary() == "AVX2 (held to AVX2)"
    # A cap above what the CPU has changes nothing but the label.
    assert parse_cpuinfo(ZEN4, "avx512_core_amx").flags == parse_cpuinfo(ZEN4).flags
    # AMX goes with a cap at bf16 level, AVX512-BF16 stays.
    capped = parse_cpuinfo(SAPPHIRE_RAPIDS, "avx512_core_bf16")
    assert capped.bf16 and "amx_bf16" not in capped.flags


def test_reading_this_machine_honours_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    info = tmp_path / "cpuinfo"
    info.write_text(ZEN4)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not read_cpu(info).bf16
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert read_cpu(info).bf16
    assert read_cpu(tmp_path / "missing").flags == frozenset()
