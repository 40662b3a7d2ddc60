"""`backdrop remove` without a server: the same pipeline the workers run, on local files."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from backdrop.engines import pipeline
from backdrop.engines.registry import create_segmenter
from backdrop.errors import BackdropError
from backdrop.imaging.colors import parse_color
from backdrop.imaging.compose import encode_png
from backdrop.imaging.decode import load_image
from backdrop.settings import Settings
from backdrop.storage.files import write_atomically

console = Console(stderr=True)


def parse_background(value: str | None, max_pixels: int) -> pipeline.Background:
    """transparent / colour / path to an image file, as the CLI's --background takes it."""
    if value is None or not value.strip() or value.strip().lower() == "transparent":
        return pipeline.Transparent()
    path = Path(value)
    if path.is_file():
        return pipeline.BackdropImage(load_image(path, max_pixels=max_pixels))
    return pipeline.SolidColor(parse_color(value))


def remove_files(
    settings: Settings,
    images: list[Path],
    output_dir: Path,
    background: str | None,
    model: str,
) -> list[tuple[Path, str]]:
    """Cut out each image; returns the (file, reason) pairs that failed."""
    max_pixels = settings.limits.max_pixels
    backdrop_choice = parse_background(background, max_pixels)
    segmenter = create_segmenter(
        model, models_dir=settings.models_dir, threads=settings.worker.onnx_threads
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    failures: list[tuple[Path, str]] = []
    for path in images:
        try:
            image = load_image(path, max_pixels=max_pixels)
            cutout = pipeline.remove_background(image, segmenter, backdrop_choice)
        except BackdropError as error:
            failures.append((path, error.detail))
            console.print(f"[red]failed[/red] {path}: {error.detail}")
            continue
        except OSError as error:
            failures.append((path, str(error)))
            console.print(f"[red]failed[/red] {path}: {error}")
            continue
        write_atomically(output_dir / f"{path.stem}.png", encode_png(cutout.output))
        write_atomically(output_dir / f"{path.stem}.mask.png", encode_png(cutout.mask))
        console.print(f"[green]done[/green] {path} -> {output_dir / (path.stem + '.png')}")
    return failures
