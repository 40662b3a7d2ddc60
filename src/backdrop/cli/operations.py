"""The per-image operations of `backdrop remove` and `backdrop generate`, local or remote."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from backdrop.engines import pipeline
from backdrop.engines.generation import BackgroundGenerator, Framing
from backdrop.engines.segmentation import Segmenter
from backdrop.imaging.compose import encode_jpeg, encode_png
from backdrop.imaging.decode import load_image
from backdrop.imaging.formats import sniff_content_type
from backdrop.imaging.output import CONTENT_TYPES, OutputOptions, encode, render
from backdrop.kinds import OutputFormat

if TYPE_CHECKING:
    from backdrop.client import Client

# Where a remote operation says something about one image (that it was shrunk to fit).
Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    """The default `Notify`: say nothing."""


def _prepared(source: Path, notify: Notify) -> bytes:
    """What the SDK will upload for `source`, with a line when it had to be shrunk.

    Only remote runs shrink: the API takes at most 5 MB, the local pipeline any size.
    """
    from backdrop.client.images import as_upload

    upload = as_upload(source)
    if upload.note is not None:
        notify(f"{source}: {upload.note}")
    return upload.data


REMOVE_SUFFIXES = (".png", ".mask.png")
GENERATE_SUFFIXES = (".jpg",)


def remove_suffixes(output: OutputOptions) -> tuple[str, ...]:
    """What `backdrop remove` writes per image: the output in its format, and the mask."""
    return (f".{output.format}", ".mask.png")


@dataclass
class RemoveWish:
    """What `backdrop remove` asks for beyond the background, locally and through a server."""

    model: str | None = None
    output: OutputOptions = field(default_factory=OutputOptions)
    size: str | int | None = None  # as the user gave it, for the server
    # --canvas, --padding, --align as the user wrote them: the server reads the same words.
    layout_text: dict[str, str | None] = field(default_factory=dict)

    def api_options(self) -> dict[str, Any]:
        """backdrop's optional API fields; none are sent unless given (LightX knows none)."""
        options: dict[str, Any] = {}
        defaults = OutputOptions()
        if self.model is not None:
            options["model"] = self.model
        if self.output.format != defaults.format:
            options["format"] = self.output.format
        if self.output.crop:
            options["crop"] = True
            if self.output.crop_margin:
                options["cropMargin"] = self.output.crop_margin
        if self.size is not None:
            options["size"] = self.size
        if self.output.channels != defaults.channels:
            options["channels"] = self.output.channels
        options |= {name: text for name, text in self.layout_text.items() if text is not None}
        if self.output.shadow is not None:
            options["shadow"] = self.output.shadow.mode
        if self.output.light_match:
            options["lightMatch"] = True
        return options


@dataclass
class LocalRemove:
    """The workers' pipeline in this process; one segmenter shared by every thread."""

    segmenter: Segmenter
    background: pipeline.Background
    max_pixels: int
    output: OutputOptions = field(default_factory=OutputOptions)
    suffixes: tuple[str, ...] = field(init=False, default=REMOVE_SUFFIXES)

    def __post_init__(self) -> None:
        self.suffixes = remove_suffixes(self.output)

    def process(self, source: Path) -> tuple[bytes, ...]:
        image = load_image(source, max_pixels=self.max_pixels)
        wanted = self.output
        if wanted.staged:
            cutout = pipeline.product_photo(
                image,
                self.segmenter,
                self.background,
                layout=wanted.layout,
                shadow=wanted.shadow,
                light_match=wanted.light_match,
                max_pixels=self.max_pixels,
            )
        else:
            cutout = pipeline.remove_background(image, self.segmenter, self.background)
        rendered = render(cutout.output, cutout.mask, wanted, cutout.extent)
        return rendered.output, rendered.mask


@dataclass(frozen=True)
class GenerateWish:
    """What `backdrop generate` asks for, the same locally and through a server."""

    prompt: str
    seed: int | None = None
    engine: str | None = None
    framing: Framing | None = None  # None: the default, "place"

    def api_options(self) -> dict[str, Any]:
        """backdrop's optional API fields; none are sent unless given (LightX knows none)."""
        options: dict[str, Any] = {}
        if self.seed is not None:
            options["seed"] = self.seed
        if self.engine is not None:
            options["engine"] = self.engine
        if self.framing is not None:
            options["framing"] = self.framing
        return options


@dataclass
class LocalGenerate:
    segmenter: Segmenter
    generator: BackgroundGenerator
    wish: GenerateWish
    max_pixels: int
    suffixes: tuple[str, ...] = GENERATE_SUFFIXES

    def process(self, source: Path) -> tuple[bytes, ...]:
        image = load_image(source, max_pixels=self.max_pixels)
        result = pipeline.generate_background(
            image,
            self.segmenter,
            self.generator,
            self.wish.prompt,
            seed=self.wish.seed,
            framing=self.wish.framing or "place",
        )
        return (encode_jpeg(result),)


@dataclass
class RemoteRemove:
    """Through the SDK: upload, order, wait, download output and mask."""

    client: Client
    background: str
    wish: RemoveWish = field(default_factory=RemoveWish)
    notify: Notify = _quiet
    suffixes: tuple[str, ...] = field(init=False, default=REMOVE_SUFFIXES)

    def __post_init__(self) -> None:
        self.suffixes = remove_suffixes(self.wish.output)

    def process(self, source: Path) -> tuple[bytes, ...]:
        image = _prepared(source, self.notify)
        result = self.client.remove_background(image, self.background, **self.wish.api_options())
        output = result.output_bytes()
        # Files are named by the format asked for: a server answering another type (LightX
        # knows only PNG) is converted, not misnamed.
        return _as_format(output, self.wish.output.format), _as_png(result.mask_bytes())


@dataclass
class RemoteGenerate:
    client: Client
    wish: GenerateWish
    notify: Notify = _quiet
    suffixes: tuple[str, ...] = GENERATE_SUFFIXES

    def process(self, source: Path) -> tuple[bytes, ...]:
        image = _prepared(source, self.notify)
        result = self.client.generate_background(image, self.wish.prompt, **self.wish.api_options())
        return (_as_jpeg(result.output_bytes()),)


def _as_format(data: bytes, fmt: OutputFormat) -> bytes:
    if sniff_content_type(data[:32]) == CONTENT_TYPES[fmt]:
        return data
    with Image.open(io.BytesIO(data)) as image:
        return encode(image, fmt)


def _as_png(data: bytes) -> bytes:
    if sniff_content_type(data[:32]) == "image/png":
        return data
    with Image.open(io.BytesIO(data)) as image:
        return encode_png(image)


def _as_jpeg(data: bytes) -> bytes:
    if sniff_content_type(data[:32]) == "image/jpeg":
        return data
    with Image.open(io.BytesIO(data)) as image:
        return encode_jpeg(image)
