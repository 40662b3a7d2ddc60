"""From Photoroom's fields to backdrop's output options: size, format, layout and shadow.

The layout and shadow are the imaging stage's types (imaging/layout.py, imaging/shadows.py);
this module only translates Photoroom's words into them.
"""

from __future__ import annotations

import math

from backdrop.api.photoroom.params import (
    OUTPUT_SIZE,
    EditFields,
    InvalidCombination,
    SegmentFields,
)
from backdrop.errors import InvalidRequest
from backdrop.imaging.layout import CanvasKind, Layout, Length, Sides
from backdrop.imaging.output import OutputOptions
from backdrop.imaging.shadows import ShadowSpec
from backdrop.kinds import OutputFormat

# Photoroom's segment sizes, in megapixels of the result (its OpenAPI: preview 0.25 MP,
# medium 1.5 MP, hd 4 MP, full 36 MP).
SEGMENT_MEGAPIXELS = {"preview": 0.25, "medium": 1.5, "hd": 4.0, "full": 36.0}
# How far a Photoroom layout may enlarge the subject to fill its canvas (Photoroom scales
# the subject to the padding's box; past 4x a photo's pixels show).
MAX_UPSCALE = 4.0
# shadow.mode's three shadows as the shadow stage draws them.
SHADOWS = {
    "ai.soft": ShadowSpec(mode="contact", opacity=0.5, softness=0.8),
    "ai.hard": ShadowSpec(mode="cast", opacity=0.6, softness=0.15, angle=45.0, length=0.5),
    "ai.floating": ShadowSpec(mode="floating", opacity=0.4, softness=0.6),
}
_FORMATS: dict[str, OutputFormat] = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"}


def max_side(megapixels: float, width: int, height: int) -> int | None:
    """The long side that keeps a `width` x `height` image within `megapixels`."""
    if width * height <= megapixels * 1_000_000:
        return None
    scale = math.sqrt(megapixels * 1_000_000 / (width * height))
    return max(1, math.floor(max(width, height) * scale))


def segment_options(fields: SegmentFields, width: int, height: int) -> OutputOptions:
    return OutputOptions(
        format=_FORMATS[fields.format],
        crop=fields.crop == "true",
        max_side=max_side(SEGMENT_MEGAPIXELS[fields.size], width, height),
        channels=fields.channels,
    )


def check_edit(fields: EditFields, *, background_file: bool) -> None:
    """Refuse what this server does not do, and what Photoroom itself refuses, by name."""
    if fields.remove_background == "false":
        raise InvalidRequest(
            "removeBackground=false is not supported by this server: it always cuts the "
            "subject out; leave removeBackground out or set it to true"
        )
    if fields.export_dpi is not None and fields.export_format == "webp":
        raise InvalidCombination(
            "export.dpi is written into PNG and JPEG results only (WebP has no standard "
            "field for it); choose export.format png or jpeg, or leave export.dpi out"
        )
    if fields.background_blur_radius is not None and fields.background_blur_mode is None:
        raise InvalidCombination("background.blur.radius needs background.blur.mode=gaussian")
    backgrounds = [
        name
        for name, given in (
            ("background.color", fields.background_color is not None),
            ("background.imageUrl", fields.background_image_url is not None),
            ("background.imageFile", background_file),
            ("background.prompt", fields.background_prompt is not None),
            ("background.blur.mode", fields.background_blur_mode is not None),
        )
        if given
    ]
    if len(backgrounds) > 1:
        raise InvalidCombination(f"give one background, not {' and '.join(backgrounds)}")
    if fields.background_seed is not None and fields.background_prompt is None:
        raise InvalidCombination("background.seed needs background.prompt")
    if fields.background_prompt is not None:
        laid_out = [
            name
            for name in fields.model_dump(by_alias=True, exclude_unset=True)
            if name in NOT_WITH_PROMPT
        ]
        if laid_out:
            raise InvalidCombination(
                f"{', '.join(laid_out)}: not supported with background.prompt by this "
                "server; the generator frames, lights and shadows the subject itself"
            )
    bounded = fields.max_width is not None or fields.max_height is not None
    if bounded and fields.output_size not in ("auto", "originalImage", "croppedSubject"):
        raise InvalidCombination(
            "maxWidth and maxHeight can only be given with outputSize auto, "
            "originalImage or croppedSubject"
        )
    edit_layout(fields)  # every padding and margin read now, before the image is


_LAYOUT_FIELDS = {
    "padding",
    "paddingTop",
    "paddingRight",
    "paddingBottom",
    "paddingLeft",
    "margin",
    "marginTop",
    "marginRight",
    "marginBottom",
    "marginLeft",
    "outputSize",
    "maxWidth",
    "maxHeight",
    "scaling",
    "referenceBox",
    "horizontalAlignment",
    "verticalAlignment",
}


# What a generated background refuses beside it: its engine frames, lights and shadows.
NOT_WITH_PROMPT = _LAYOUT_FIELDS | {"shadow.mode", "lighting.mode", "model"}


def edit_layout(fields: EditFields) -> Layout | None:
    """The layout `fields` ask for; None when they ask for none (the cut-out as it was)."""
    given = fields.model_dump(by_alias=True, exclude_defaults=True)
    if not _LAYOUT_FIELDS & set(given):
        return None
    match = OUTPUT_SIZE.match(fields.output_size)
    assert match is not None  # the field's pattern
    canvas: CanvasKind
    size = None
    if match.group(2) is not None:
        width, height = int(match.group(2)), int(match.group(3))
        canvas, size = "size", (width, height)
    elif fields.output_size == "croppedSubject":
        canvas = "subject"
    else:  # auto behaves as originalImage without a template (Photoroom's words)
        canvas = "original"
    return Layout(
        canvas=canvas,
        size=size,
        max_width=fields.max_width,
        max_height=fields.max_height,
        padding=_sides(fields, "padding"),
        margin=_sides(fields, "margin"),
        scaling=fields.scaling,
        reference="original" if fields.reference_box == "originalImage" else "subject",
        horizontal=fields.horizontal_alignment or "center",
        vertical=fields.vertical_alignment or "center",
        max_upscale=MAX_UPSCALE,
    )


def _sides(fields: EditFields, kind: str) -> Sides:
    lengths = fields.lengths("padding" if kind == "padding" else "margin")
    none = Length()
    return Sides(
        top=lengths["top"] or none,
        right=lengths["right"] or none,
        bottom=lengths["bottom"] or none,
        left=lengths["left"] or none,
    )


def export_format(fields: EditFields) -> OutputFormat:
    return _FORMATS[fields.export_format]


def edit_options(fields: EditFields) -> OutputOptions:
    return OutputOptions(
        format=export_format(fields),
        layout=edit_layout(fields),
        shadow=SHADOWS[fields.shadow_mode] if fields.shadow_mode else None,
        light_match=fields.lighting_mode == "ai.auto",
    )
