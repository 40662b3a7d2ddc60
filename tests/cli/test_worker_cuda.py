"""`backdrop worker` asked for CUDA on a machine without a usable GPU exits non-zero with one
line naming the cause; it never runs on the CPU instead. A real check, no stand-ins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backdrop.engines.gpu import count_devices, onnxruntime_providers


def test_cuda_without_a_usable_gpu_exits_naming_the_cause(tmp_path: Path) -> None:
    if count_devices().count and "CUDAExecutionProvider" in onnxruntime_providers():
        pytest.skip("this machine has a usable GPU")
    env = {
        **os.environ,
        "BACKDROP_INFERENCE__DEVICE": "cuda",
        "BACKDROP_DATA_DIR": str(tmp_path),
        "COLUMNS": "400",
    }
    done = subprocess.run(
        [sys.executable, "-m", "backdrop.cli", "worker", "--batch", "8"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: CUDA was asked for but ")
    assert any(
        cause in lines[0]
        for cause in ("no CUDA device", "no CUDA provider", "missing CUDA libraries")
    )
