"""Whether this machine can run a model on a CUDA GPU, and if not, why, in one line.

A worker asked for CUDA (`BACKDROP_INFERENCE__DEVICE=cuda`) that cannot have it exits with
the first cause found, in the order an operator fixes them:

1. no device: the NVIDIA driver's library (libcuda) does not load, or it sees no GPU;
2. no CUDA provider in onnxruntime: the CPU-only `onnxruntime` package is installed;
3. missing CUDA libraries: onnxruntime has the provider but could not load it (CUDA runtime,
   cuBLAS or cuDNN missing); onnxruntime then silently runs on the CPU, so the session's
   own providers are checked after it is opened (`check_session`).

Never a silent CPU fallback: the worker would run 100x slower and nobody would know why.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CUDA_PROVIDER = "CUDAExecutionProvider"
TENSORRT_PROVIDER = "TensorrtExecutionProvider"
_DRIVER_LIBRARY = "libcuda.so.1"


class CudaUnavailable(RuntimeError):
    """CUDA was asked for and cannot be had here; the message names the cause."""


@dataclass(frozen=True)
class DeviceCount:
    """What the NVIDIA driver says: how many GPUs, or why it could not say."""

    count: int
    problem: str | None = None


def count_devices(load: Callable[[str], Any] = ctypes.CDLL) -> DeviceCount:
    """The number of CUDA devices the driver sees (cuInit + cuDeviceGetCount)."""
    try:
        driver = load(_DRIVER_LIBRARY)
    except OSError:
        return DeviceCount(0, f"the NVIDIA driver library {_DRIVER_LIBRARY} is not installed")
    status = driver.cuInit(0)
    if status != 0:
        return DeviceCount(0, f"the NVIDIA driver could not start (cuInit error {status})")
    count = ctypes.c_int(0)
    status = driver.cuDeviceGetCount(ctypes.byref(count))
    if status != 0:
        return DeviceCount(0, f"the NVIDIA driver could not count GPUs (error {status})")
    return DeviceCount(count.value, None if count.value else "the driver sees no GPU")


def onnxruntime_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def onnxruntime_version() -> str:
    import onnxruntime as ort

    return str(ort.__version__)


def check_cuda(
    devices: Callable[[], DeviceCount] = count_devices,
    providers: Callable[[], Sequence[str]] = onnxruntime_providers,
    version: Callable[[], str] = onnxruntime_version,
) -> list[str]:
    """The GPU providers to ask onnxruntime for (TensorRT first where installed), or
    CudaUnavailable naming why there is no usable GPU."""
    found = devices()
    if found.count < 1:
        raise CudaUnavailable(f"CUDA was asked for but there is no CUDA device: {found.problem}")
    available = providers()
    if CUDA_PROVIDER not in available:
        raise CudaUnavailable(
            f"CUDA was asked for but onnxruntime {version()} has no CUDA provider "
            f"(it offers {', '.join(available)}): install onnxruntime-gpu instead of onnxruntime"
        )
    return [name for name in (TENSORRT_PROVIDER, CUDA_PROVIDER) if name in available]


def check_session(session: Any) -> str:
    """The GPU provider an opened session runs on, or CudaUnavailable (missing libraries):
    onnxruntime drops a provider it cannot load and goes on with the CPU."""
    active = list(session.get_providers())
    for name in (TENSORRT_PROVIDER, CUDA_PROVIDER):
        if name in active:
            return name
    raise CudaUnavailable(
        "CUDA was asked for but there are missing CUDA libraries: onnxruntime could not load "
        "its CUDA provider (CUDA runtime, cuBLAS or cuDNN; its log above names the file) and "
        f"would run on {', '.join(active)}"
    )


def gpu_memory_used() -> int | None:
    """Bytes in use on GPU 0 (NVML, when nvidia-ml-py is installed), else None."""
    try:
        import pynvml  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).used)
    except Exception:  # no driver, no device: the metric is simply absent
        return None
