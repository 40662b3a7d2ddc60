"""The machine a figure was measured on, recorded beside it (bench/RESULTS.md)."""

from __future__ import annotations

import os
from typing import Any

from backdrop.engines.cpu import read_cpu

ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def machine() -> dict[str, Any]:
    """CPU model, the ISA flags that matter (as capped by ONEDNN_MAX_CPU_ISA), load average."""
    cpu = read_cpu()
    return {
        "cpu": cpu.model_name,
        "isa": cpu.isa_summary(),
        "flags": [flag for flag in ISA_FLAGS if flag in cpu.flags],
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()),
    }
