"""Order parameters as typed values, and the one place a `background` value is parsed.

They are stored as JSON on the order row (the shape is unchanged since the first schema) and
read back here, so neither the service nor the worker reads keys out of a dict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageFilter

from backdrop.engines import pipeline
from backdrop.engines.generation import Framing, check_framing
from backdrop.imaging.colors import parse_color
from backdrop.imaging.output import OutputOptions
from backdrop.kinds import Operation

RGBA = tuple[int, int, int, int]


@dataclass(frozen=True)
class TransparentBackground:
    pass


@dataclass(frozen=True)
class ColorBackground:
    rgba: RGBA


@dataclass(frozen=True)
class ImageBackground:
    """An image the client uploaded, by its object key."""

    key: str


@dataclass(frozen=True)
class BlurredBackground:
    """The input photo itself, blurred, behind the subject (Photoroom's background.blur).

    `key` is the order's input image; `radius` the Gaussian blur's standard deviation as a
    fraction of the photo's long side (Photoroom's 0..0.05).
    """

    key: str
    radius: float = 0.01

    def blurred(self, image: Image.Image) -> Image.Image:
        sigma = self.radius * max(image.size)
        return image.convert("RGB").filter(ImageFilter.GaussianBlur(sigma))


BackgroundSpec = TransparentBackground | ColorBackground | ImageBackground | BlurredBackground


@dataclass(frozen=True)
class RemovalParams:
    background: BackgroundSpec = TransparentBackground()
    model: str | None = None
    output: OutputOptions = field(default_factory=OutputOptions)

    def image_keys(self) -> list[str]:
        return [self.background.key] if isinstance(self.background, ImageBackground) else []


@dataclass(frozen=True)
class GenerationParams:
    prompt: str
    seed: int | None = None
    negative_prompt: str | None = None
    engine: str | None = None
    style_key: str | None = None
    framing: Framing = "place"

    def image_keys(self) -> list[str]:
        return [self.style_key] if self.style_key else []


OrderParams = RemovalParams | GenerationParams


def background_from_text(text: str | None) -> TransparentBackground | ColorBackground:
    """A LightX `background` that is not a URL: empty, "transparent" or a CSS colour.

    A colour with zero alpha is transparency. InvalidBackground for anything else.
    """
    if text is None or not text.strip():
        return TransparentBackground()
    rgba = parse_color(text)
    return TransparentBackground() if rgba[3] == 0 else ColorBackground(rgba)


def to_pipeline(
    spec: BackgroundSpec, load: Callable[[str], Image.Image] | None = None
) -> pipeline.Background:
    """What the pipeline composes onto; `load` reads an uploaded image by key."""
    if isinstance(spec, ColorBackground):
        return pipeline.SolidColor(spec.rgba)
    if isinstance(spec, ImageBackground):
        if load is None:
            raise ValueError("an image background needs a way to load the image")
        return pipeline.BackdropImage(load(spec.key))
    if isinstance(spec, BlurredBackground):
        if load is None:
            raise ValueError("a blurred background needs a way to load the photo")
        return pipeline.BackdropImage(spec.blurred(load(spec.key)))
    return pipeline.Transparent()


def to_json(params: OrderParams) -> dict[str, Any]:
    if isinstance(params, GenerationParams):
        return {
            "prompt": params.prompt,
            "seed": params.seed,
            "negative_prompt": params.negative_prompt,
            "engine": params.engine,
            "style_key": params.style_key,
            "framing": params.framing,
        }
    background: dict[str, Any]
    if isinstance(params.background, ImageBackground):
        background = {"kind": "image", "key": params.background.key}
    elif isinstance(params.background, ColorBackground):
        background = {"kind": "color", "rgba": list(params.background.rgba)}
    elif isinstance(params.background, BlurredBackground):
        background = {
            "kind": "blur",
            "key": params.background.key,
            "radius": params.background.radius,
        }
    else:
        background = {"kind": "transparent"}
    data: dict[str, Any] = {"background": background}
    if params.model is not None:
        data["model"] = params.model
    if params.output != OutputOptions():
        data["output"] = params.output.to_params()
    return data


def from_json(operation: Operation, data: dict[str, Any]) -> OrderParams:
    """The parameters `to_json` stored for an order of `operation`."""
    if operation != Operation.REMOVE_BACKGROUND:
        return GenerationParams(
            prompt=str(data["prompt"]),
            seed=data.get("seed"),
            negative_prompt=data.get("negative_prompt"),
            engine=data.get("engine"),
            style_key=data.get("style_key"),
            # Params stored before framing existed have none: they get the default.
            framing=check_framing(data.get("framing")),
        )
    raw = data.get("background") or {"kind": "transparent"}
    background: BackgroundSpec
    if raw["kind"] == "image":
        background = ImageBackground(str(raw["key"]))
    elif raw["kind"] == "color":
        r, g, b, a = (int(v) for v in raw["rgba"])
        background = ColorBackground((r, g, b, a))
    elif raw["kind"] == "blur":
        background = BlurredBackground(str(raw["key"]), float(raw["radius"]))
    else:
        background = TransparentBackground()
    return RemovalParams(
        background=background,
        model=data.get("model"),
        output=OutputOptions.from_params(data.get("output")),
    )
