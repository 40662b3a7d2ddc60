"""Background generation: what every generation engine gets and offers, and their ids.

Engines: `studio` (procedural, CPU, the default; engines/studio) and `diffusion` (diffusers
inpainting, an optional extra for operators with a GPU and weights; engines/diffusion.py).
Which class an id builds is engines/generators.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from backdrop.engines.engine import Engine
from backdrop.errors import UnknownModel
from backdrop.kinds import GenerationEngine

# "place": the subject is cut out by its box, scaled to a good share of the frame, centred and
# stood on the scene's floor; "keep": it stays exactly where and as large as it is in the photo.
Framing = Literal["place", "keep"]
FRAMINGS: tuple[Framing, ...] = ("place", "keep")


def check_framing(value: object) -> Framing:
    """`value` as a framing; "place" when it is missing (params stored before framing)."""
    if value is None or value == "place":
        return "place"
    if value == "keep":
        return "keep"
    raise ValueError(f"unknown framing {value!r}; known: {', '.join(FRAMINGS)}")


@dataclass(frozen=True)
class GenerationRequest:
    """What every generation engine gets: the photo, the subject's alpha and the wishes."""

    image: Image.Image  # "RGB", the input photo
    alpha: NDArray[np.uint8]  # (height, width), 255 = subject
    prompt: str
    seed: int | None = None
    negative_prompt: str | None = None
    # A reference photo whose palette and light the new background should take (studio).
    style_image: Image.Image | None = None
    # Where the subject goes in the frame; an engine that cannot move it keeps it (diffusion).
    framing: Framing = "place"


class BackgroundGenerator(Engine, Protocol):
    """An engine that puts the subject on a new background; "RGB" at the input's size."""

    @property
    def engine_id(self) -> str: ...

    def generate(self, request: GenerationRequest) -> Image.Image: ...


def check_engine(engine_id: str) -> str:
    """`engine_id` if it names a generation engine; otherwise a clear error listing them."""
    if engine_id not in set(GenerationEngine):
        known = ", ".join(GenerationEngine)
        raise UnknownModel(f"unknown generation engine {engine_id!r}; known engines: {known}")
    return engine_id
