"""Where a segmentation model runs: onnxruntime or OpenVINO, behind one `run()` call.

Both read the same ONNX file. On a CPU, OpenVINO is the faster of the two for ISNet: on a CPU
with bfloat16 units (AMX / AVX512-BF16) it computes in bf16 by default, 4-5x faster than
onnxruntime's fp32 kernels with the same dev-set scores (bench/RESULTS.md); elsewhere it runs
fp32 at about onnxruntime's speed. onnxruntime stays the runtime for CUDA GPUs and wherever
OpenVINO is not installed.

`runtime="auto"` picks: onnxruntime when it offers a preferred GPU provider, else OpenVINO
when installed, else onnxruntime on the CPU. `precision="f32"` makes OpenVINO compute in fp32
(exact, slower); which graph and precision a model gets by default is engines/choice.py's.

Both runtimes are imported where a session is opened, so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from backdrop.engines.cpu import usable_cores
from backdrop.settings import MAX_THREADS, InferenceSettings

# Tried in this order; whatever the installed onnxruntime lacks is dropped.
DEFAULT_PROVIDER_PREFERENCE: tuple[str, ...] = ("CUDAExecutionProvider", "CPUExecutionProvider")
GPU_PROVIDERS = frozenset({"CUDAExecutionProvider", "TensorrtExecutionProvider"})


class InferenceSessionLike(Protocol):
    """The part of `onnxruntime.InferenceSession` an engine uses (tests inject a fake)."""

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]: ...


def choose_providers(
    preferred: Sequence[str] = DEFAULT_PROVIDER_PREFERENCE,
    available: Sequence[str] | None = None,
) -> list[str]:
    """Preferred onnxruntime providers that this onnxruntime offers, in order of preference."""
    if available is None:
        import onnxruntime as ort

        available = ort.get_available_providers()
    chosen = [name for name in preferred if name in available]
    # CPU is always compiled in; never hand onnxruntime an empty list.
    return chosen or ["CPUExecutionProvider"]


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def choose_runtime(
    requested: str,
    providers: Sequence[str],
    *,
    has_openvino: bool | None = None,
) -> str:
    """The runtime that serves `requested` ("auto" or a name): "onnxruntime" or "openvino".

    `providers` are the onnxruntime providers this machine would use (`choose_providers`).
    """
    if requested not in ("auto", "onnxruntime", "openvino"):
        raise ValueError(f"runtime must be auto, onnxruntime or openvino, not {requested!r}")
    if has_openvino is None:
        has_openvino = openvino_installed()
    if requested == "openvino" and not has_openvino:
        raise RuntimeError("runtime openvino was asked for but the openvino package is missing")
    if requested != "auto":
        return requested
    # A GPU through onnxruntime beats any CPU runtime.
    if GPU_PROVIDERS & set(providers[:1]):
        return "onnxruntime"
    return "openvino" if has_openvino else "onnxruntime"


@functools.cache
def machine_threads() -> int:
    """The usable cores (engines/cpu.py), at most MAX_THREADS: read from /sys once per process,
    not at every session (one file per CPU: hundreds of reads on a large machine)."""
    return min(usable_cores(), MAX_THREADS)


def model_threads(inference: InferenceSettings) -> int:
    """Threads per model run: the setting, else `machine_threads()`."""
    return inference.threads if inference.threads is not None else machine_threads()


def open_session(
    model_path: Path,
    inference: InferenceSettings,
    providers: Sequence[str] = DEFAULT_PROVIDER_PREFERENCE,
) -> InferenceSessionLike:
    """A session over `model_path` on the runtime `inference` asks for."""
    # device "cpu": the CPU even where a GPU provider is installed.
    chosen = ["CPUExecutionProvider"] if inference.device == "cpu" else choose_providers(providers)
    if choose_runtime(inference.runtime, chosen) == "openvino":
        return OpenVinoSession(model_path, inference)
    import onnxruntime as ort

    session: InferenceSessionLike = ort.InferenceSession(
        str(model_path),
        sess_options=make_session_options(model_threads(inference)),
        providers=chosen,
    )
    return session


def describe(session: InferenceSessionLike) -> str:
    """Where a session runs, in words for a log line: "OpenVINO, bf16", "onnxruntime, CPU"."""
    if isinstance(session, OpenVinoSession):
        return f"OpenVINO, {session.precision}"
    get_providers = getattr(session, "get_providers", None)
    if callable(get_providers):
        names = [name.removesuffix("ExecutionProvider") for name in get_providers()]
        return f"onnxruntime, {', '.join(names)}"
    return type(session).__name__


def make_session_options(threads: int = 2) -> Any:
    """onnxruntime session options tuned for a small shared CPU box (docs/MODELS.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Without the memory-pattern planner and spinning threads the fp16 ISNet peaks at ~1.4 GB
    # instead of ~2.1 GB, and idle workers do not burn CPU that other requests need.
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def openvino_config(inference: InferenceSettings) -> dict[str, Any]:
    """OpenVINO CPU properties for one model: latency first, `threads` threads, one stream."""
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": model_threads(inference),
        "NUM_STREAMS": 1,
    }
    # "int8" names a graph (engines/choice.py), whose float layers then compute in f32.
    if inference.precision != "auto":
        config["INFERENCE_PRECISION_HINT"] = (
            "f32" if inference.precision == "int8" else inference.precision
        )
    return config


# Beside the models: OpenVINO's compiled blobs (one per model, precision and CPU; the int8
# ISNet's is 45 MB). With one, opening the model takes 0.75-0.9 s (reading the ONNX file
# included) where compiling it took 1.7-2.3 s on 2 AVX2 cores, and every `backdrop remove`
# and worker start pays that.
COMPILED_CACHE = "openvino-cache"


def compiled_cache_dir(model_path: Path, openvino_version: str) -> Path | None:
    """Where OpenVINO keeps compiled models of `model_path`; None where the models folder is
    read-only (the model then compiles on every start, as without a cache).

    One folder per model file, named after the file and a signature of its size, its time of
    change and the OpenVINO version. A model fetched again or a new OpenVINO gets a new folder
    and the model's older ones are deleted: their blobs would never be read again, and each
    is tens of MB. (Which blob is read is OpenVINO's choice, keyed on the graph itself, so a
    signature that missed a change would cost a compile, never a stale result.)
    """
    try:
        stat = model_path.stat()
    except OSError:
        return None
    facts = f"{stat.st_size}:{stat.st_mtime_ns}:{openvino_version}"
    signature = hashlib.sha256(facts.encode()).hexdigest()[:_SIGNATURE_LENGTH]
    cache = model_path.parent / COMPILED_CACHE
    folder = cache / f"{model_path.name}-{signature}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    _delete_other_caches(cache, model_path.name, keep=folder)
    return folder


_SIGNATURE_LENGTH = 12


def _delete_other_caches(cache: Path, model_name: str, keep: Path) -> None:
    """Delete `model_name`'s cache folders other than `keep`, and blobs left loose in `cache`
    by versions that kept every model's blobs in one folder. Best effort: a blob in use by
    another process stays readable to it once deleted (POSIX), and one that cannot be
    deleted is left."""
    own = re.compile(re.escape(model_name) + f"-[0-9a-f]{{{_SIGNATURE_LENGTH}}}")
    try:
        for entry in cache.iterdir():
            if entry == keep:
                continue
            if entry.is_dir() and own.fullmatch(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_file() and entry.suffix == ".blob":
                entry.unlink(missing_ok=True)
    except OSError:
        return


@dataclass(frozen=True)
class PortName:
    """What onnxruntime's `NodeArg` offers that callers here use: the tensor's name."""

    name: str


class OpenVinoSession:
    """An ONNX model compiled by OpenVINO for the CPU, called like an onnxruntime session.

    One infer request is reused under a lock: concurrent calls take turns (on a small CPU
    they would only share the same cores) and memory stays that of one run.
    """

    def __init__(self, model_path: Path, inference: InferenceSettings) -> None:
        import openvino as ov

        core = ov.Core()
        config = openvino_config(inference)
        cache = compiled_cache_dir(model_path, ov.__version__)
        if cache is not None:
            config["CACHE_DIR"] = str(cache)
        # Compiled from the read model, not the path: OpenVINO then keys its cache on the
        # graph and weights, so a model file replaced in place never meets a stale blob.
        self._compiled = core.compile_model(core.read_model(str(model_path)), "CPU", config)
        self._request = self._compiled.create_infer_request()
        self._inputs = {name: port for port in self._compiled.inputs for name in port.get_names()}
        self._outputs = {name: port for port in self._compiled.outputs for name in port.get_names()}
        self._lock = threading.Lock()

    def get_inputs(self) -> list[PortName]:
        """The graph's inputs in order, named as onnxruntime's `get_inputs()` names them."""
        return [PortName(port.get_any_name()) for port in self._compiled.inputs]

    def get_outputs(self) -> list[PortName]:
        return [PortName(port.get_any_name()) for port in self._compiled.outputs]

    @property
    def precision(self) -> str:
        """The precision OpenVINO computes in ("f32", "bf16", ...)."""
        return str(self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name())

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]:
        names = output_names or [port.get_any_name() for port in self._compiled.outputs]
        unknown = [name for name in names if name not in self._outputs]
        unknown += [name for name in input_feed if name not in self._inputs]
        if unknown:
            raise KeyError(f"the model has no input or output named {', '.join(unknown)}")
        feed = {self._inputs[name]: value for name, value in input_feed.items()}
        with self._lock:
            results = self._request.infer(feed)
            # Copies: the request reuses its output buffers on the next call.
            return [results[self._outputs[name]].copy() for name in names]
