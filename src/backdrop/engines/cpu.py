"""What this CPU can compute fast, and so which graph and precision the default model runs in.

Read once at start from /proc/cpuinfo (Linux; elsewhere nothing is known and the safe f32
choice is made). oneDNN's `ONEDNN_MAX_CPU_ISA` caps what OpenVINO's kernels use, so it caps
what is reported here too: `ONEDNN_MAX_CPU_ISA=AVX2` on an AVX-512 machine gives the choice
an AVX2-only CPU would get (how bench/ measures AVX2 figures on a newer CPU).
"""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path

# oneDNN's ISA names, lowest first; a cap at one of these drops every flag above it.
_ISA_ORDER = (
    "sse41",
    "avx",
    "avx2",
    "avx2_vnni",
    "avx512_core",
    "avx512_core_vnni",
    "avx512_core_bf16",
    "avx512_core_fp16",
    "avx512_core_amx",
    "avx10_1_512_amx",
)
# cpuinfo flags that need at least that ISA level to be usable.
_FLAG_LEVEL = {
    "avx2": "avx2",
    "avx_vnni": "avx2_vnni",
    "avx512f": "avx512_core",
    "avx512_vnni": "avx512_core_vnni",
    "avx512_bf16": "avx512_core_bf16",
    "amx_bf16": "avx512_core_amx",
    "amx_int8": "avx512_core_amx",
    "amx_tile": "avx512_core_amx",
}


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU's name and the instruction-set flags that matter for inference."""

    model_name: str
    flags: frozenset[str]
    capped_at: str | None = None  # ONEDNN_MAX_CPU_ISA, when set

    @property
    def bf16(self) -> bool:
        """bfloat16 units: AVX512-BF16 or AMX."""
        return bool({"avx512_bf16", "amx_bf16"} & self.flags)

    @property
    def amx(self) -> bool:
        """AMX tiles with bf16 (Intel Sapphire Rapids and later)."""
        return "amx_bf16" in self.flags

    @property
    def avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def int8_dot(self) -> bool:
        """int8 dot-product instructions (VNNI or AMX)."""
        return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & self.flags)

    def isa_summary(self) -> str:
        """The flags that matter, in words: "AVX2", "AVX-512, VNNI, BF16, AMX"."""
        parts = []
        if "avx512f" in self.flags:
            parts.append("AVX-512")
        elif "avx2" in self.flags:
            parts.append("AVX2")
        else:
            parts.append("no AVX2")
        if self.int8_dot:
            parts.append("VNNI")
        if "avx512_bf16" in self.flags:
            parts.append("AVX512-BF16")
        if "amx_bf16" in self.flags:
            parts.append("AMX")
        summary = ", ".join(parts)
        return f"{summary} (held to {self.capped_at})" if self.capped_at else summary


def parse_cpuinfo(text: str, max_isa: str | None = None) -> CpuFeatures:
    """`CpuFeatures` from /proc/cpuinfo's text, capped at oneDNN ISA name `max_isa`."""
    model_name, flags = platform.machine() or "unknown CPU", frozenset[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model_name == (platform.machine() or "unknown CPU"):
            model_name = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    cap = (max_isa or "").strip().lower() or None
    if cap is not None and cap in _ISA_ORDER:
        limit = _ISA_ORDER.index(cap)
        flags = frozenset(flag for flag in flags if _ISA_ORDER.index(_level(flag)) <= limit)
    return CpuFeatures(model_name, flags, cap.upper() if cap else None)


def _level(flag: str) -> str:
    """The lowest oneDNN ISA level that uses `flag` ("sse41" for those no cap removes)."""
    if flag in _FLAG_LEVEL:
        return _FLAG_LEVEL[flag]
    if flag.startswith("avx512"):
        return "avx512_core"
    if flag.startswith("amx"):
        return "avx512_core_amx"
    return "sse41"


def read_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuFeatures:
    """This machine's CPU (nothing known where /proc/cpuinfo is missing)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return parse_cpuinfo(text, os.environ.get("ONEDNN_MAX_CPU_ISA"))


def usable_cores(cpus: set[int] | None = None, sys_root: Path = Path("/sys")) -> int:
    """How many threads a model run should use: the physical cores among the CPUs this process
    may run on (`cpus`, by default its affinity), at most a container's CPU quota (cgroup v2
    or v1). Hyperthreads of one core share its vector units, so they are counted once.

    Where nothing can be read (not Linux), `os.cpu_count()`.
    """
    if cpus is None:
        try:
            cpus = set(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            return max(1, os.cpu_count() or 1)
    cores = _physical_cores(cpus, sys_root / "devices/system/cpu")
    quota = _cpu_quota(sys_root / "fs/cgroup")
    return max(1, min(cores, quota) if quota is not None else cores)


def _physical_cores(cpus: set[int], cpu_dir: Path) -> int:
    """Distinct cores among `cpus`: CPUs that list the same siblings are one core."""
    cores = set()
    for cpu in cpus:
        try:
            siblings = (cpu_dir / f"cpu{cpu}/topology/thread_siblings_list").read_text().strip()
        except OSError:
            siblings = str(cpu)  # topology unknown: each CPU its own core
        cores.add(siblings)
    return len(cores)


def _cpu_quota(cgroup: Path) -> int | None:
    """A cgroup's CPU limit in whole CPUs, rounded up; None when there is none."""
    try:  # cgroup v2: "max 100000" or "<quota> <period>"
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:  # cgroup v1: -1 means no quota
            quota = (cgroup / "cpu/cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu/cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1"):
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None
