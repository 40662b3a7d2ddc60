"""The `studio` engine: offline, CPU, fast. Prompt → scene recipe → procedural backdrop →
photographic composite.

- `understanding` turns the prompt (and an optional style image) into a `Recipe`;
- `scenes` paints it at a working resolution (about 640 px on the long side);
- `composite` adds depth of field, the subject's shadows, clean edges, light wrap and a
  gentle colour match, at the input's size, with film grain.
`explain(prompt)` shows the recipe without painting (`backdrop generate --explain`).
"""

from __future__ import annotations

import zlib

import numpy as np
from PIL import Image

from backdrop.engines.engine import Lazy
from backdrop.engines.generation import Framing, GenerationRequest
from backdrop.engines.studio.composite import (
    decontaminate,
    depth_of_field,
    harmonise,
    horizon_for,
    light_wrap,
    shadow_map,
)
from backdrop.engines.studio.layers import F, grain
from backdrop.engines.studio.lighting import grade
from backdrop.engines.studio.placement import place
from backdrop.engines.studio.recipe import Light, Palette, Recipe
from backdrop.engines.studio.scenes import Stage, render_scene
from backdrop.engines.studio.understanding import PromptUnderstanding
from backdrop.engines.studio.variation import vary
from backdrop.imaging.output import subject_box

WORK_SIDE = 640  # the scene is painted at most this many pixels on its long side
GRAIN = 1.6 / 255.0

__all__ = ["Light", "Palette", "Recipe", "StudioGenerator", "explain", "shared_understanding"]

_shared_understanding = Lazy(PromptUnderstanding)


def shared_understanding() -> PromptUnderstanding:
    """One prompt understanding per process: its embedding model is loaded once."""
    return _shared_understanding.get()


def explain(
    prompt: str, style_image: Image.Image | None = None, negative_prompt: str | None = None
) -> Recipe:
    """The recipe the studio engine would paint for `prompt`; `.to_dict()` for JSON."""
    return shared_understanding().recipe(prompt, style_image, negative_prompt)


class StudioGenerator:
    """A procedural scene behind the subject, from the prompt; deterministic for a seed."""

    engine_id = "studio"

    def __init__(self, understanding: PromptUnderstanding | None = None) -> None:
        self._understanding = understanding

    def check(self) -> None:
        """Nothing to check: without its embedding model the studio reads prompts by keywords."""

    def load(self) -> None:
        """Load the embedding model and embed the presets now, not during the first order."""
        self.explain("plain studio backdrop")

    def unload(self) -> None:
        """Nothing to free: the prompt understanding is the process's, shared by every studio."""

    def describe(self) -> str:
        return "studio: procedural scenes on the CPU"

    def explain(
        self,
        prompt: str,
        style_image: Image.Image | None = None,
        negative_prompt: str | None = None,
    ) -> Recipe:
        understanding = self._understanding or shared_understanding()
        return understanding.recipe(prompt, style_image, negative_prompt)

    def generate(self, request: GenerationRequest) -> Image.Image:
        """The subject in the scene the prompt describes, "RGB" at the input's size.

        Without a seed the prompt seeds the scene, so the same request gives the same bytes.
        The negative prompt removes what it names (see `understanding._apply_negative`).
        The subject is placed in the frame (`placement`) unless `request.framing` is "keep".
        """
        image, alpha = request.image.convert("RGB"), request.alpha
        width, height = image.size
        if alpha.shape != (height, width):
            raise ValueError(f"matte shape {alpha.shape} does not match image size {image.size}")
        seed = (
            request.seed if request.seed is not None else zlib.crc32(request.prompt.encode("utf-8"))
        )
        seed %= 2**64
        recipe = self.explain(request.prompt, request.style_image, request.negative_prompt)
        return render(vary(recipe, seed), image, alpha, seed, request.framing)


def render(
    recipe: Recipe,
    image: Image.Image,
    alpha: np.ndarray,
    seed: int,
    framing: Framing = "place",
) -> Image.Image:
    """Paint `recipe` behind the subject of `image` (matte `alpha`), at the image's size.

    Placed, the subject is moved first and the scene is laid out round its new box, so the
    floor (which the scenes build from the subject's base) is where it stands.
    """
    width, height = image.size
    subject = np.asarray(image, dtype=np.float32) / 255.0
    placed = place(image, alpha) if framing == "place" else None
    if placed is not None:
        subject, alpha = placed
    scale = min(1.0, WORK_SIDE / max(width, height))
    work_w, work_h = max(8, round(width * scale)), max(8, round(height * scale))
    small = np.asarray(
        Image.fromarray(alpha).resize((work_w, work_h), Image.Resampling.BOX), dtype=np.uint8
    )
    matte = small.astype(np.float32) / 255.0
    found = subject_box(small)
    # The scene is laid out in fractions of the frame (a photo with no subject gets a notional
    # one in the middle). They are NumPy float64s on purpose: mixed with float32 arrays they
    # keep the scene's arithmetic in float64, as it has always been computed.
    box: tuple[float, float, float, float] = (0.4, 0.45, 0.6, 0.85)
    if found is not None:
        left_px, top_px, right_px, bottom_px = map(np.float64, found)
        box = (left_px / work_w, top_px / work_h, right_px / work_w, bottom_px / work_h)
    left, top, right, bottom = box
    horizon = horizon_for(top, bottom)
    stage = Stage(work_w, work_h, horizon, min(bottom, 0.995), left, right, top, seed)
    scene = render_scene(recipe, stage)
    backdrop = grade(scene.image, recipe.light)
    # Named things must stay recognisable: a scene with elements is never blurred beyond 0.35.
    blur = min(recipe.depth_of_field, 0.35) if recipe.elements else recipe.depth_of_field
    backdrop = depth_of_field(backdrop, scene.depth, blur)
    if found is not None:
        shadow = shadow_map(matte, box, horizon, recipe.light)
        backdrop = (backdrop * (1.0 - shadow[..., None])).astype(np.float32)
    return _composite(backdrop, subject, alpha, recipe.light, stage, clean=placed is not None)


def _composite(
    backdrop: F, subject: F, alpha: np.ndarray, light: Light, stage: Stage, *, clean: bool
) -> Image.Image:
    """The subject (colours 0..1) over the backdrop; `clean`: its edges are already free of
    the old background (a placed subject is decontaminated before it is resampled)."""
    height, width = alpha.shape
    pixels = np.clip(backdrop * 255.0 + 0.5, 0, 255).astype(np.uint8)
    full = Image.fromarray(pixels)
    if full.size != (width, height):
        full = full.resize((width, height), Image.Resampling.BICUBIC)
    background = np.asarray(full, dtype=np.float32) / 255.0
    rng = stage.rng("grain")
    background = background + grain(width, height, rng, GRAIN)[..., None]
    a = alpha.astype(np.float32) / 255.0
    if not a.any():
        return _to_image(background)
    # Only the subject's bounding box (with a margin) needs the edge work.
    rows, cols = np.flatnonzero(a.max(axis=1) > 0), np.flatnonzero(a.max(axis=0) > 0)
    margin = max(4, round(0.02 * max(width, height)))
    y0, y1 = max(0, rows[0] - margin), min(height, rows[-1] + 1 + margin)
    x0, x1 = max(0, cols[0] - margin), min(width, cols[-1] + 1 + margin)
    crop = (slice(y0, y1), slice(x0, x1))
    s, m, b = subject[crop], a[crop], background[crop]
    if not clean:
        s = decontaminate(s, m)
    s = harmonise(s, m, b, light)
    s = light_wrap(s, m, b, light)
    background[crop] = s * m[..., None] + b * (1.0 - m[..., None])
    return _to_image(background)


def _to_image(values: F) -> Image.Image:
    return Image.fromarray(np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8))
