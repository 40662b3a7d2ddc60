"""CPU feature reading, on cpuinfo texts of the CPUs the project has met."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from backdrop.engines import inference
from backdrop.engines.cpu import parse_cpuinfo, read_cpu, usable_cores
from backdrop.engines.inference import make_session_options, model_threads, openvino_config
from backdrop.settings import MAX_THREADS, InferenceSettings, Settings

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


def fake_sys(root: Path, siblings: dict[int, str], cpu_max: str | None = None) -> Path:
    """A /sys with each CPU's hyperthread siblings and, if given, a cgroup v2 cpu.max."""
    for cpu, listed in siblings.items():
        topology = root / f"devices/system/cpu/cpu{cpu}/topology"
        topology.mkdir(parents=True)
        (topology / "thread_siblings_list").write_text(listed + "\n")
    (root / "fs/cgroup").mkdir(parents=True)
    if cpu_max is not None:
        (root / "fs/cgroup/cpu.max").write_text(cpu_max + "\n")
    return root


def test_usable_cores_counts_each_core_once_and_only_those_allowed(tmp_path: Path) -> None:
    # 8 CPUs: 4 cores with 2 hyperthreads each (cpu n and n + 4 share a core).
    root = fake_sys(tmp_path, {n: f"{n % 4},{n % 4 + 4}" for n in range(8)}, "max 100000")
    assert usable_cores(set(range(8)), root) == 4
    assert usable_cores({0, 4}, root) == 1  # pinned to one core's two hyperthreads
    assert usable_cores({0, 1, 5}, root) == 2


@pytest.mark.parametrize(("cpu_max", "expected"), [("200000 100000", 2), ("150000 100000", 2)])
def test_usable_cores_stays_within_a_containers_cpu_quota(
    tmp_path: Path, cpu_max: str, expected: int
) -> None:
    root = fake_sys(tmp_path, {n: str(n) for n in range(16)}, cpu_max)
    assert usable_cores(set(range(16)), root) == expected


def test_usable_cores_reads_a_cgroup_v1_quota_and_survives_a_bare_sys(tmp_path: Path) -> None:
    v1 = tmp_path / "v1"
    (v1 / "fs/cgroup/cpu").mkdir(parents=True)
    (v1 / "fs/cgroup/cpu/cpu.cfs_quota_us").write_text("300000\n")
    (v1 / "fs/cgroup/cpu/cpu.cfs_period_us").write_text("100000\n")
    assert usable_cores(set(range(8)), v1) == 3  # no topology: each CPU its own core
    assert usable_cores(set(range(8)), tmp_path / "nothing") == 8


def test_model_threads_default_to_this_machines_usable_cores(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    unset = InferenceSettings()
    assert unset.threads is None  # counted where a session is opened, not in the settings
    assert model_threads(unset) == usable_cores() <= len(os.sched_getaffinity(0))
    assert openvino_config(unset)["INFERENCE_NUM_THREADS"] == usable_cores()
    assert make_session_options(model_threads(unset)).intra_op_num_threads == usable_cores()
    monkeypatch.setenv("BACKDROP_INFERENCE__THREADS", "1")
    assert model_threads(Settings().inference) == 1
    assert openvino_config(Settings().inference)["INFERENCE_NUM_THREADS"] == 1


def test_model_threads_stay_within_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference, "usable_cores", lambda: MAX_THREADS + 100)
    inference.machine_threads.cache_clear()
    try:
        assert model_threads(InferenceSettings()) == MAX_THREADS
    finally:
        inference.machine_threads.cache_clear()
    with pytest.raises(ValidationError):
        InferenceSettings(threads=MAX_THREADS + 1)
