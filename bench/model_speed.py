"""Speed and peak memory of the built-in catalogue's models on this CPU, per runtime and precision.

    .venv/bin/python bench/model_speed.py --models u2netp --threads 1 --repeat 3   # a quick one
    .venv/bin/python bench/model_speed.py      # every model, all cores: on a quiet machine

The real architectures with random weights (time and memory do not depend on the weights):
each model's published code is read from its repository, its network built with PyTorch
(`torch.manual_seed(0)`), exported to ONNX at its native input (opset 17, the prediction
output alone), and run by backdrop's own engine (`PresetSegmenter`, the model's
preset) in a fresh process per configuration:

- `ms / 1 MP image`: median `predict` of a 1152x864 photo (resize to the input, the model,
  the output back to 1 MP), after one warm-up;
- `ms model`: median of the session's own run on the prepared input;
- `peak RSS`: the process's maximum resident memory (load, compile and runs; Python and the
  runtime included);
- configurations: onnxruntime f32; OpenVINO f32; OpenVINO bf16 where the CPU has
  AVX512-BF16 or AMX; OpenVINO on the int8 graph that `backdrop models fetch` derives
  (engines/derive_preset.py: NNCF, calibrated on scikit-image's photos).

The code is never committed: `--code DIR` names where the repositories' git directories are
(`DIR/owner+name/repo`, a mirror of git directories; none by default); otherwise each
is cloned shallowly from GitHub into the work folder. Only the model files are copied out and
imported, from a temporary folder. BiRefNet's code needs `timm einops kornia torchvision
huggingface_hub` in the running environment (its backbone and blocks import them), and its
deformable convolutions export with `deform_conv2d_onnx_exporter`, as BiRefNet's own ONNX
conversion does; U²-Net's and ISNet-anime's need PyTorch alone.

Writes `bench/model_speed.json` (this CPU class's rows replace its earlier ones) and the table
between the `model_speed` markers of docs/MODELS.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine

from backdrop.engines.cpu import CpuFeatures, read_cpu
from backdrop.engines.model_presets import PRESETS

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench/model_speed.json"
DOC = REPO / "docs/MODELS.md"
PHOTO_SIZE = (1152, 864)  # ~1 MP, the order size


@dataclass(frozen=True)
class Architecture:
    """Where a catalogue model's network is published, and how to build it from that code."""

    repo: str  # owner/name on GitHub
    files: tuple[str, ...]  # the model files to copy out (paths in the repository)
    build: Callable[[Path], Any]  # the copied folder -> a torch.nn.Module
    preset: str
    license: str
    # Which output is the prediction: U²-Net's and ISNet's first, BiRefNet's last (in eval
    # mode its list holds the final map alone, but the last is the one its code reads).
    output: int = 0


def _load(folder: Path, relative: str, name: str) -> types.ModuleType:
    """Import `folder/relative` as module `name` (its folder first on the path)."""
    spec = importlib.util.spec_from_file_location(name, folder / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _u2net(small: bool) -> Callable[[Path], Any]:
    def build(folder: Path) -> Any:
        module = _load(folder, "model/u2net.py", "u2net_published")
        return module.U2NETP(3, 1) if small else module.U2NET(3, 1)

    return build


def _isnet_anime(folder: Path) -> Any:
    # isnet.py imports torchvision's model zoo at the top and never uses it: a stand-in
    # module keeps the bench free of torchvision where it is not installed.
    if importlib.util.find_spec("torchvision") is None:
        stand_in = types.ModuleType("torchvision")
        stand_in.models = types.ModuleType("torchvision.models")  # type: ignore[attr-defined]
        sys.modules["torchvision"] = stand_in
    module = _load(folder, "model/isnet.py", "isnet_published")
    return module.ISNetDIS()


def _birefnet(backbone: str) -> Callable[[Path], Any]:
    def build(folder: Path) -> Any:
        # The released files: general, portrait and matting on Swin-L, lite on Swin-T; the
        # config picks its backbone by a list index, set here to the one wanted.
        config = (folder / "config.py").read_text()
        listing = re.search(r"self\.bb = \[(.*?)\]\[(\d+)\]", config, re.S)
        assert listing is not None, "BiRefNet's config.py no longer lists its backbones"
        names = re.findall(r"'([a-z0-9_]+)'", listing.group(1))
        chosen = listing.group(0).replace(f"][{listing.group(2)}]", f"][{names.index(backbone)}]")
        (folder / "config.py").write_text(config.replace(listing.group(0), chosen))
        # birefnet.py imports the training set's class list for an auxiliary head that the
        # released models do not have.
        dataset = types.ModuleType("dataset")
        dataset.class_labels_TR_sorted = []  # type: ignore[attr-defined]
        sys.modules["dataset"] = dataset
        sys.path.insert(0, str(folder))
        from models.birefnet import BiRefNet  # type: ignore[import-not-found]

        return BiRefNet(bb_pretrained=False)

    return build


_BIREFNET_FILES = ("config.py", "models", "utils.py")
ARCHITECTURES: dict[str, Architecture] = {
    "u2netp": Architecture(
        "xuebinqin/U-2-Net", ("model/u2net.py",), _u2net(small=True), "u2net", "Apache-2.0"
    ),
    "u2net": Architecture(
        "xuebinqin/U-2-Net", ("model/u2net.py",), _u2net(small=False), "u2net", "Apache-2.0"
    ),
    "isnet-anime": Architecture(
        "SkyTNT/anime-segmentation", ("model/isnet.py",), _isnet_anime, "isnet-anime", "Apache-2.0"
    ),
    "birefnet-lite": Architecture(
        "ZhengPeng7/BiRefNet", _BIREFNET_FILES, _birefnet("swin_v1_t"), "birefnet", "MIT", -1
    ),
    # general, portrait and matting share one architecture (Swin-L): one row stands for all.
    "birefnet-general": Architecture(
        "ZhengPeng7/BiRefNet", _BIREFNET_FILES, _birefnet("swin_v1_l"), "birefnet", "MIT", -1
    ),
}


def copy_code(repo: str, files: tuple[str, ...], code: Path | None, dest: Path) -> None:
    """Copy `files` of `repo`'s newest commit into `dest`: from a local git directory under
    `code` if there is one, else from a shallow clone from GitHub made under `dest`."""
    git_dir = code / repo.replace("/", "+") / "repo" if code else None
    if git_dir is None or not git_dir.is_dir():
        clone = dest.parent / f"clone-{repo.replace('/', '+')}"
        if not clone.exists():
            url = f"https://github.com/{repo}.git"
            subprocess.run(["git", "clone", "--depth", "1", url, str(clone)], check=True)
        git_dir = clone / ".git"
    listed = subprocess.run(
        ["git", f"--git-dir={git_dir}", "ls-tree", "-r", "--name-only", "HEAD", *files],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if not listed:
        raise SystemExit(f"{repo} has none of {files}")
    for path in listed:
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        blob = subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"HEAD:{path}"], check=True, capture_output=True
        ).stdout
        target.write_bytes(blob)


class OneOutput:
    """A network whose forward returns its prediction only (the one the presets read)."""

    def __new__(cls, net: Any, index: int = 0) -> Any:
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = net

            def forward(self, x: Any) -> Any:
                out = self.net(x)
                while isinstance(out, list | tuple):
                    out = out[index]
                return out

        return Wrapped()


def export(model_id: str, arch: Architecture, code: Path | None, work: Path) -> Path:
    """The model's architecture with random weights, as ONNX at its native input."""
    import torch

    target = work / f"{model_id}.onnx"
    if target.exists():
        return target
    folder = work / f"code-{model_id}"
    shutil.rmtree(folder, ignore_errors=True)
    copy_code(arch.repo, arch.files, code, folder)
    torch.manual_seed(0)
    net = OneOutput(arch.build(folder), arch.output).eval()
    side = PRESETS[arch.preset].input_size[0]
    example = torch.randn(1, 3, side, side)
    if arch.preset == "birefnet":
        # BiRefNet's own ONNX conversion: deformable convolutions through this exporter, with
        # the patch its notebook (tutorials/BiRefNet_pth2onnx.ipynb) applies to it: a size
        # the tracer leaves unknown is read from the (contiguous NCHW) strides.
        import deform_conv2d_onnx_exporter as exporter

        known = exporter.get_tensor_dim_size

        def dim_size(tensor: Any, dim: int) -> Any:
            size = known(tensor, dim)
            if size is None and dim in (0, 2, 3):
                strides = tensor.type().strides()
                size = {0: strides[3], 2: strides[1] // strides[2], 3: strides[2]}[dim]
            return size

        exporter.get_tensor_dim_size = dim_size
        if exporter.JitScalarType is None:  # PyTorch 2.9+ moved it; its fallback is pre-2.0's
            from torch.onnx._internal.torchscript_exporter._type_utils import JitScalarType

            exporter.JitScalarType = JitScalarType
        exporter.register_deform_conv2d_onnx_op()
    with torch.no_grad():
        torch.onnx.export(
            net,
            (example,),
            str(target),
            input_names=["input"],
            output_names=["output"],
            opset_version=17,
            dynamo=False,
        )
    return target


def derive_int8(model_id: str, arch: Architecture, fp32: Path) -> Path:
    """The int8 graph, made by the catalogue's own derivation (engines/derive_preset.py)."""
    from backdrop.engines.derive_preset import PresetInt8

    target = fp32.with_name(f"{model_id}-int8.onnx")
    if not target.exists():
        PresetInt8(PRESETS[arch.preset], transformer=arch.preset == "birefnet")(fp32, target)
    return target


def configurations(cpu: CpuFeatures) -> list[tuple[str, str, str]]:
    """(runtime, precision, graph) to time on this CPU."""
    chosen = [("onnxruntime", "f32", "fp32"), ("openvino", "f32", "fp32")]
    if cpu.bf16:
        chosen.append(("openvino", "bf16", "fp32"))
    chosen.append(("openvino", "f32", "int8"))
    return chosen


def time_one(
    graph: Path, preset: str, runtime: str, precision: str, threads: int, repeat: int
) -> dict[str, Any]:
    """In this process: load `graph` in backdrop's engine and time it (the child's job)."""
    from backdrop.engines.model_presets import PresetSegmenter, preset_batch
    from backdrop.settings import InferenceSettings

    settings = InferenceSettings.model_validate(
        {"runtime": runtime, "precision": precision, "threads": threads}
    )
    engine = PresetSegmenter(
        graph, model_format=PRESETS[preset], model_id=graph.stem, inference=settings
    )
    rng = np.random.default_rng(0)
    # A photo-like image: smooth gradients and a textured subject (the content does not
    # change the time of a dense network; only its size does).
    photo = Image.fromarray(rng.integers(0, 255, (PHOTO_SIZE[1], PHOTO_SIZE[0], 3), np.uint8))
    started = time.perf_counter()
    session = engine.load()
    load_s = time.perf_counter() - started
    engine.predict(photo)  # warm-up
    per_image = []
    for _ in range(repeat):
        started = time.perf_counter()
        engine.predict(photo)
        per_image.append((time.perf_counter() - started) * 1000)
    batch = preset_batch(photo, PRESETS[preset])
    model_only = []
    for _ in range(repeat):
        started = time.perf_counter()
        session.run(None, {"input": batch})
        model_only.append((time.perf_counter() - started) * 1000)
    return {
        "ms_per_1mp_image": round(statistics.median(per_image), 1),
        "ms_model": round(statistics.median(model_only), 1),
        "load_s": round(load_s, 2),
        "peak_rss_mb": peak_rss_mb(),
        "repeat": repeat,
    }


def peak_rss_mb() -> int:
    """This process's peak resident memory since its exec (VmHWM). Not `ru_maxrss`: that
    keeps the peak of the forked parent (with PyTorch loaded) across the exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def cpu_class(cpu: CpuFeatures) -> str:
    """The CPU class bench/RESULTS.md files figures under."""
    if cpu.amx:
        return "Intel AMX/bf16"
    if "avx512f" in cpu.flags and cpu.int8_dot and cpu.bf16:
        return (
            "AMD EPYC Zen 4 (AVX-512, VNNI, bf16)"
            if "AMD" in cpu.model_name
            else ("AVX-512, VNNI, bf16 (no AMX)")
        )
    if cpu.avx2:
        return "AMD EPYC AVX2-only" if "AMD" in cpu.model_name else "AVX2-only"
    return "no AVX2"


# Models timed once for others of the same architecture (the same graph, other weights).
SAME_ARCHITECTURE = {"birefnet-general": "birefnet-general (also -portrait, -matting)"}


def download_mb(model_id: str) -> float:
    """The catalogue file's size in MB (the random-weights export has the same layers)."""
    from backdrop.engines.builtin_models import BUILTIN_MODELS

    size = getattr(BUILTIN_MODELS[model_id].weights, "size", None)
    return round(size / 1e6, 1) if size else 0.0


def write_table(rows: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
    """The rows as the table between docs/MODELS.md's `model_speed` markers, and under it the
    machine and load of each run whose rows are shown."""
    lines = [
        "| model | licence | input | size | CPU class (threads) | runtime, precision "
        "| ms / 1 MP image | ms model | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["cpu_class"], r["model"], r["configuration"])):
        side = row["input"]
        name = SAME_ARCHITECTURE.get(row["model"], row["model"])
        lines.append(
            f"| {name} | {row['license']} | {side}² | {row['size_mb']:g} MB | {row['cpu_class']} "
            f"({row['threads']}) | {row['configuration']} | {row['ms_per_1mp_image']:.0f} "
            f"| {row['ms_model']:.0f} | {row['peak_rss_mb']} MB |"
        )
    lines.append("")
    for run in runs:
        shown = {(r["model"], r["cpu_class"]) for r in rows if r.get("run") == run["id"]}
        if not shown:
            continue
        box = run["machine"]
        start, end_load = box["load_average"][0], run["load_average_at_end"][0]
        lines.append(
            f"- {', '.join(sorted({m for m, _ in shown}))}: `{box['cpu']}` ({box['isa']}), "
            f"{box['cores']} cores, {run['threads']} thread(s), median of {run['repeat']}; "
            f"load average {start:.1f} at the start and {end_load:.1f} at the end (a shared "
            "machine: only figures of one run compare with each other)."
        )
    text = DOC.read_text()
    begin, end = "<!-- model_speed:begin -->", "<!-- model_speed:end -->"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{begin}\n" + "\n".join(lines) + f"\n{end}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(ARCHITECTURES))
    parser.add_argument("--threads", type=int, default=None, help="default: the usable cores")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--code", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 derivation")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:  # one configuration, in its own process so its peak memory is its own
        graph, preset, runtime, precision, threads = args.child
        print(
            json.dumps(time_one(Path(graph), preset, runtime, precision, int(threads), args.repeat))
        )
        return

    from backdrop.engines.cpu import usable_cores

    cpu = read_cpu()
    threads = args.threads or usable_cores()
    work = args.work or Path(tempfile.mkdtemp(prefix="model-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    record = machine()
    rows: list[dict[str, Any]] = []
    for model_id in args.models:
        arch = ARCHITECTURES[model_id]
        fp32 = export(model_id, arch, args.code, work)
        for runtime, precision, graph_kind in configurations(cpu):
            if graph_kind == "int8":
                if args.no_int8:
                    continue
                graph = derive_int8(model_id, arch, fp32)
            else:
                graph = fp32
            command = [sys.executable, __file__, "--repeat", str(args.repeat), "--child"]
            command += [str(graph), arch.preset, runtime, precision, str(threads)]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            measured = json.loads(done.stdout.splitlines()[-1])
            label = f"{runtime}, {precision}" + (", int8 graph" if graph_kind == "int8" else "")
            row = {
                "model": model_id,
                "license": arch.license,
                "input": PRESETS[arch.preset].input_size[0],
                "cpu_class": cpu_class(cpu),
                "threads": threads,
                "configuration": label,
                "onnx_mb": round(graph.stat().st_size / 1e6, 1),
                # What a user downloads, or (int8) what the derivation writes.
                "size_mb": round(graph.stat().st_size / 1e6, 1)
                if graph_kind == "int8"
                else download_mb(model_id),
                **measured,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

    # This CPU class's rows for these models replace its earlier ones; other rows stay.
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"rows": [], "runs": []}
    run_id = len(previous["runs"]) + 1
    for row in rows:
        row["run"] = run_id
    mine = {(r["model"], r["cpu_class"]) for r in rows}
    kept = [r for r in previous["rows"] if (r["model"], r["cpu_class"]) not in mine]
    run = {
        "id": run_id,
        "machine": record,
        "load_average_at_end": list(os.getloadavg()),
        "models": args.models,
        "threads": threads,
        "repeat": args.repeat,
    }
    result = {"rows": kept + rows, "runs": [*previous["runs"], run]}
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    write_table(result["rows"], result["runs"])
    print(f"wrote {RESULTS} and the table in {DOC}; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
