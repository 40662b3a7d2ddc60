"""Contact sheet of every shadow mode and several layouts on real photos, and their timings.

.venv/bin/python bench/product_sheet.py [--eval DIR] [--images a.jpg,b.jpg]
writes bench/product_sheet.jpg and prints the per-1-MP timings that bench/PRODUCT.md records.
The photos and their hand-made masks come from the shared evaluation set at run time (never
copied into the repository); the masks stand for the model's so the sheet shows the stage alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from backdrop.imaging import compose
from backdrop.imaging.layout import PRESETS, Layout, Length, Sides, plan
from backdrop.imaging.shadows import SHADOW_MODES, ShadowSpec, ground_layer, solid_box
from backdrop.imaging.staging import place, stage

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "product_sheet.jpg"
EVAL = ROOT.parent / "shared" / "eval" / "sod_bsds"
DEFAULT_IMAGES = "216066.jpg,291000.jpg,134052.jpg"
# A landscape without a subject of its own, for the image-background column.
DEFAULT_BACKDROP = "241004.jpg"
TILE, LABEL = 210, 22
WHITE = (255, 255, 255, 255)


def cutout(images: Path, name: str) -> Image.Image:
    photo = Image.open(images / "images" / name).convert("RGB")
    mask_path = next((images / "masks").glob(Path(name).stem + ".*"))
    alpha = np.asarray(Image.open(mask_path).convert("L").resize(photo.size), dtype=np.uint8)
    alpha = np.ascontiguousarray(alpha)
    return compose.cutout(compose.Foreground(photo, alpha), alpha)


def checker(size: tuple[int, int]) -> Image.Image:
    board = np.full((size[1], size[0]), 235, np.uint8)
    cells = (np.add.outer(np.arange(size[1]) // 10, np.arange(size[0]) // 10) % 2) == 1
    board[cells] = 205
    return Image.fromarray(board).convert("RGB")


def shown(image: Image.Image) -> Image.Image:
    """A tile: the result fitted in TILE x TILE, transparency over a checkerboard."""
    tile = image.copy()
    tile.thumbnail((TILE, TILE), Image.Resampling.LANCZOS)
    if tile.mode == "RGBA":
        board = checker(tile.size)
        board.paste(tile, mask=tile.getchannel("A"))
        tile = board
    framed = Image.new("RGB", (TILE, TILE), (250, 250, 250))
    framed.paste(tile.convert("RGB"), ((TILE - tile.width) // 2, (TILE - tile.height) // 2))
    return framed


def _big(layout: Layout) -> Layout:
    """The layout allowed to enlarge these 0.15 MP photos, so the sheet shows what a shop's
    multi-megapixel photo would look like."""
    return replace(layout, max_upscale=8.0)


def variants(backdrop: Image.Image) -> list[tuple[str, dict[str, object]]]:
    square = _big(PRESETS["square-white"])
    bottom = _big(replace(PRESETS["etsy"], vertical="bottom"))
    return [
        *[
            (f"{mode} · square-white", {"layout": square, "shadow": ShadowSpec(mode),
                                        "background": WHITE})
            for mode in SHADOW_MODES
        ],
        ("cast 0.8 · 30° · etsy bottom", {"layout": bottom, "background": (236, 230, 220, 255),
                                          "shadow": ShadowSpec("cast", 0.8, 0.3, 30, 0.8)}),
        ("contact · transparent", {"layout": Layout(canvas="size", size=(1000, 1000),
                                   padding=Sides.all(Length(0.1)), max_upscale=8),
                                   "shadow": ShadowSpec("contact", 0.7)}),
        ("drop · subject box + 40px", {"layout": Layout(canvas="subject",
                                       padding=Sides.all(Length(40, "px"))),
                                       "shadow": ShadowSpec("drop", 0.6, 0.8, -45),
                                       "background": (40, 60, 90, 255)}),
        ("floating · portrait", {"layout": _big(PRESETS["portrait"]), "background": WHITE,
                                 "shadow": ShadowSpec("floating", 0.6)}),
        ("image bg · light match", {"layout": _big(PRESETS["instagram"]), "background": backdrop,
                                    "shadow": ShadowSpec("contact", 0.7), "light_match": True}),
    ]  # fmt: skip


def timings(cut: Image.Image) -> dict[str, float]:
    """Milliseconds per 1 MP canvas, one core, median of 5: each shadow, and the layout."""
    cv2.setNumThreads(1)
    layout = Layout(canvas="size", size=(1000, 1000), padding=Sides.all(Length(0.08)),
                    max_upscale=4)  # fmt: skip
    canvas = place(cut, plan(cut.size, solid_box(np.asarray(cut.getchannel("A"))), layout))
    alpha = np.ascontiguousarray(np.asarray(canvas.getchannel("A")))
    rgb = np.ascontiguousarray(np.asarray(canvas)[..., :3])
    results: dict[str, float] = {}

    def median_ms(call: object) -> float:
        runs = []
        for _ in range(6):
            start = time.perf_counter()
            call()  # type: ignore[operator]
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs[1:])

    for mode in SHADOW_MODES:
        results[f"shadow {mode}"] = median_ms(lambda m=mode: ground_layer(alpha, ShadowSpec(m), rgb))
    results["layout (plan + place)"] = median_ms(
        lambda: place(cut, plan(cut.size, solid_box(np.asarray(cut.getchannel("A"))), layout))
    )
    results["stage: layout + contact + white"] = median_ms(
        lambda: stage(cut, layout=layout, shadow=ShadowSpec("contact"), background=WHITE)
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--images", default=DEFAULT_IMAGES)
    parser.add_argument("--backdrop", default=DEFAULT_BACKDROP)
    args = parser.parse_args()
    names = args.images.split(",")
    backdrop = Image.open(args.eval / "images" / args.backdrop).convert("RGB")
    cuts = [cutout(args.eval, name) for name in names]
    columns = len(variants(backdrop)) + 1
    sheet = Image.new("RGB", (columns * TILE, len(cuts) * (TILE + LABEL)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for row, (name, cut) in enumerate(zip(names, cuts, strict=True)):
        y = row * (TILE + LABEL)
        original = Image.open(args.eval / "images" / name).convert("RGB")
        sheet.paste(shown(original), (0, y))
        draw.text((4, y + TILE + 5), f"photo {name}", fill=(0, 0, 0))
        for column, (label, options) in enumerate(variants(backdrop), start=1):
            staged = stage(cut, **options)  # type: ignore[arg-type]
            sheet.paste(shown(staged.output), (column * TILE, y))
            draw.text((column * TILE + 4, y + TILE + 5), label, fill=(0, 0, 0))
    sheet.save(OUT, quality=85)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
    for label, ms in timings(cuts[0]).items():
        print(f"{label}: {ms:.1f} ms")


if __name__ == "__main__":
    main()
