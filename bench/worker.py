"""One contender of the benchmark, in its own process so that its peak RSS is its own.

Reads JSON requests on stdin, one per line: {"image": PATH, "out": DIR}. Writes each variant's
alpha to DIR/<variant>/<stem>.png and answers {"times": {variant: seconds}} on stdout. On end
of input it answers {"maxrss_mb": N}. Run by bench/run.py; not a user tool.

Contenders (the same ISNet weights, 2 threads each):
- backdrop: `pipeline.subject_alpha` with the default engine (`placement.create_segmenter`,
  refinement included) on the default runtime, exactly what `remove` uses: the fp32 file
  derived from the shipped one, run by OpenVINO (bf16 on a CPU that has it;
  engines/inference.py).
- backdrop_ort: the same, run by onnxruntime instead (the runtime's share of the speed).
- backdrop_int8: the same engine on the int8 file (`--quality fast`).
- backdrop_best: the same engine on the two-scale file (`--quality best`).
- rembg: `rembg.remove(..., only_mask=True)` timed as "rembg"; rembg's own `post_process` and
  `alpha_matting_cutout` applied to that mask, timed as that time plus the step's, exactly the
  steps `remove(post_process_mask=True)` / `remove(alpha_matting=True)` run.
- bare: the MODELS.md recipe with a plain InferenceSession; "bare" times `session.run` alone
  (the denominator of the ratios), "bare_flip" the whole recipe with horizontal-flip averaging.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from backdrop.imaging.decode import load_image
from backdrop.kinds import DEFAULT_MODEL
from backdrop.settings import InferenceSettings, Settings

Variant = Callable[[Image.Image], dict[str, tuple[np.ndarray, float]]]


def backdrop_contender(name: str, model_id: str, runtime: str = "auto") -> Variant:
    from backdrop.engines import pipeline
    from backdrop.engines.placement import create_segmenter
    from backdrop.engines.segmentation import OnnxSegmenter

    inference = InferenceSettings(runtime=runtime, threads=2)  # type: ignore[arg-type]
    segmenter = create_segmenter(model_id, models_dir=Settings().models_dir, inference=inference)
    assert isinstance(segmenter, OnnxSegmenter)
    segmenter.load()

    def run(image: Image.Image) -> dict[str, tuple[np.ndarray, float]]:
        start = time.perf_counter()
        alpha = pipeline.subject_alpha(image, segmenter)
        return {name: (alpha, time.perf_counter() - start)}

    return run


def rembg_contender(model: Path) -> Variant:
    # rembg finds a present file under U2NET_HOME and does not download it.
    os.environ["OMP_NUM_THREADS"] = "2"
    from rembg import new_session, remove
    from rembg.bg import alpha_matting_cutout, post_process

    session = new_session("isnet-general-use")

    def run(image: Image.Image) -> dict[str, tuple[np.ndarray, float]]:
        start = time.perf_counter()
        mask = remove(image, session=session, only_mask=True)
        plain = time.perf_counter() - start
        start = time.perf_counter()
        processed = post_process(np.array(mask))
        ppm = plain + time.perf_counter() - start
        start = time.perf_counter()
        try:
            matte = np.asarray(alpha_matting_cutout(image, mask, 240, 10, 10).getchannel("A"))
        except ValueError:
            # What remove() does when the trimap lacks a sure foreground or background:
            # it falls back to a cutout whose alpha is the mask itself.
            matte = np.asarray(mask.convert("L"))
        matted = plain + time.perf_counter() - start
        return {
            "rembg": (np.asarray(mask.convert("L")), plain),
            "rembg_ppm": (processed, ppm),
            "rembg_matting": (matte, matted),
        }

    return run


def bare_contender(model: Path) -> Variant:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def infer(batch: np.ndarray) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        out = session.run(["output"], {"input": batch})[0]
        return np.asarray(out, dtype=np.float32)[0, 0], time.perf_counter() - start

    def to_alpha(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        scaled = Image.fromarray(np.clip(np.rint(plane * 255), 0, 255).astype(np.uint8))
        return np.asarray(scaled.resize(size, Image.Resampling.BILINEAR))

    def run(image: Image.Image) -> dict[str, tuple[np.ndarray, float]]:
        start = time.perf_counter()
        rgb = image.convert("RGB").resize((1024, 1024), Image.Resampling.BILINEAR)
        batch = ((np.asarray(rgb, np.float32) - 128) / 256).transpose(2, 0, 1)[None]
        batch = np.ascontiguousarray(batch)
        plane, model_seconds = infer(batch)
        alpha = to_alpha(plane, image.size)
        if os.environ.get("BENCH_SKIP_FLIP"):  # its scores are deterministic: see run.py
            return {"bare": (alpha, model_seconds)}
        flipped, _ = infer(np.ascontiguousarray(batch[..., ::-1]))
        averaged = to_alpha((plane + flipped[:, ::-1]) / 2, image.size)
        total = time.perf_counter() - start
        return {"bare": (alpha, model_seconds), "bare_flip": (averaged, total)}

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "contender", choices=["backdrop", "backdrop_ort", "int8", "best", "rembg", "bare"]
    )
    parser.add_argument("--model", type=Path, required=True, help="the shipped file (rembg, bare)")
    args = parser.parse_args()
    # The protocol owns the real stdout; whatever a library prints goes to stderr instead.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    contender: Variant
    if args.contender == "backdrop":
        contender = backdrop_contender("backdrop", DEFAULT_MODEL)
    elif args.contender == "backdrop_ort":
        contender = backdrop_contender("backdrop_ort", DEFAULT_MODEL, "onnxruntime")
    elif args.contender == "int8":
        contender = backdrop_contender("backdrop_int8", "isnet-general-int8")
    elif args.contender == "best":
        contender = backdrop_contender("backdrop_best", "isnet-general-multiscale")
    elif args.contender == "rembg":
        contender = rembg_contender(args.model)
    else:
        contender = bare_contender(args.model)
    print(json.dumps({"ready": True}), file=protocol, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        path = Path(request["image"])
        image = load_image(path, max_pixels=40_000_000)
        times = {}
        for variant, (alpha, seconds) in contender(image).items():
            folder = Path(request["out"]) / variant
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(alpha.astype(np.uint8)).save(folder / f"{path.stem}.png")
            times[variant] = seconds
        print(json.dumps({"times": times}), file=protocol, flush=True)
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"maxrss_mb": maxrss_kb / 1024}), file=protocol, flush=True)


if __name__ == "__main__":
    main()
