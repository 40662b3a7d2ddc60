"""Render every dev prompt with the studio engine into one labelled contact sheet.

.venv/bin/python bench/studio_contact_sheet.py   # writes bench/studio_contact_sheet.jpg
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))

from studio_subject import bottle_photo

from backdrop.engines.generation import GenerationRequest
from backdrop.engines.studio import StudioGenerator, shared_understanding

ROOT = Path(__file__).resolve().parents[1]
PROMPT_FILES = [ROOT.parent / "shared" / "prompts" / name for name in ("dev.txt", "dev-2.txt")]
OUT = Path(__file__).resolve().parent / "studio_contact_sheet.jpg"
TILE_W, TILE_H, LABEL, COLUMNS = 240, 320, 30, 10


def prompts() -> list[str]:
    lines = [
        line for path in PROMPT_FILES for line in path.read_text(encoding="utf-8").splitlines()
    ]
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def main() -> None:
    image, alpha = bottle_photo(600, 800)
    generator = StudioGenerator()
    items = prompts()
    shared_understanding().prepare(items)
    rows = (len(items) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * TILE_W, rows * (TILE_H + LABEL)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    started = time.perf_counter()
    for index, prompt in enumerate(items):
        result = generator.generate(GenerationRequest(image, alpha, prompt, seed=7))
        tile = result.resize((TILE_W, TILE_H), Image.Resampling.LANCZOS)
        x, y = index % COLUMNS * TILE_W, index // COLUMNS * (TILE_H + LABEL)
        sheet.paste(tile, (x, y))
        text = prompt if len(prompt) <= 40 else prompt[:38] + "…"
        draw.text((x + 4, y + TILE_H + 8), text, fill=(0, 0, 0))
    sheet.save(OUT, quality=88)
    print(f"{len(items)} prompts in {time.perf_counter() - started:.1f} s → {OUT}")


if __name__ == "__main__":
    main()
