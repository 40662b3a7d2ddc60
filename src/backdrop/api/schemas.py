"""Request and response bodies, named as LightX names them.

The JSON Schema of each body says what the server accepts, no more and no less where JSON
Schema can say it: a request valid by the schema is never refused as malformed (400), and the
rules the server checks after pydantic (a prompt's characters, a colour's name, which fields
go together) are in the schema too. The models themselves stay lenient where LightX clients
rely on it (a missing textPrompt is LightX's 5041, not a validation error), so the schema of a
few fields is written here rather than derived.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
)

from backdrop.engines.builtin_models import BUILTIN_MODELS
from backdrop.imaging.colors import CSS_COLORS
from backdrop.imaging.layout import PRESETS
from backdrop.imaging.layout_options import Alignment, canvas, sides
from backdrop.imaging.shadows import ShadowMode
from backdrop.kinds import DEFAULT_MODEL, Channels, GenerationEngine, OutputFormat
from backdrop.settings import MAX_UPLOAD_BYTES, LimitSettings


class _Body(BaseModel):
    # Unknown fields are ignored, as a tolerant server should (LightX clients may send more).
    # Integer fields are JSON integers (JsonInt): JSON's true is not the number 1, nor is "5".
    model_config = ConfigDict(extra="ignore")


# What uploadImageUrl accepts as contentType. The field stays a string so that another type
# is answered 415 UNSUPPORTED_MEDIA_TYPE (as before), while the schema lists exactly these.
CONTENT_TYPES: list[JsonValue] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/jpg",
    "image/pjpeg",
]


def _json_integer(value: object) -> object:
    """Refuse what lax validation would turn into an int but JSON Schema's integer is not."""
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")
    return value


# JSON's integers: a number without a fraction (2253.0 too, as JSON Schema counts it), never
# true or false, never a string of digits.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]

# Bounded JsonInts for optional fields: the bounds go before the validator, since after it
# pydantic writes them into the schema as `ge`/`le`, which JSON Schema does not know.
_CropMargin = Annotated[int, Field(ge=0, le=10_000), BeforeValidator(_json_integer)]
# At most 2**53 - 1: larger integers lose digits in JSON parsers that read numbers as
# doubles (JavaScript, and schema-driven test generators).
_Seed = Annotated[int, Field(ge=0, le=2**53 - 1), BeforeValidator(_json_integer)]


def _canvas(value: str | None) -> str | None:
    if value is not None:
        canvas(value)  # ValueError names what is wrong
    return value


def _padding(value: str | None) -> str | None:
    if value is not None:
        sides(value)
    return value


# A maximum long side in pixels.
_LongSide = Annotated[int, Field(ge=1, le=20_000), BeforeValidator(_json_integer)]
# Image URLs are ones this server handed out: absolute http(s) URLs.
IMAGE_URL = r"^https?://[^\s]+$"

# -- prompts (orders/prompts.py) -------------------------------------------------------------
#
# A prompt is accepted when, trimmed of whitespace (str.strip), it is not empty, has at most
# `limits.max_prompt_chars` characters and holds no control, format, surrogate or private-use
# character (Unicode categories Cc, Cf, Cs, Co) other than tab and newline. The schema says
# the same as a pattern.
MAX_PROMPT_CHARS: int = LimitSettings.model_fields["max_prompt_chars"].default
# What str.strip removes (str.isspace), as inclusive code point ranges: spelled out, because
# `\s` means other characters in ECMA-262 (JSON Schema's dialect) than in Python.
SPACES: tuple[tuple[int, int], ...] = (
    (0x0009, 0x000D),
    (0x001C, 0x0020),
    (0x0085, 0x0085),
    (0x00A0, 0x00A0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
# Categories Cc, Cf and Co in Python 3.11's Unicode 14 database (tests/api/test_schemas.py
# checks it against unicodedata), as inclusive code point ranges. Cs, the lone surrogates, are
# refused too but left out: they are not text (a JSON string holds one only as a bare \uD800
# escape), and regex engines that read text as Unicode scalars cannot even name them.
REFUSED_IN_PROMPTS: tuple[tuple[int, int], ...] = (
    (0x0000, 0x0008),  # Cc (tab and newline are allowed)
    (0x000B, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),  # Cf from here on, unless said otherwise
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xE000, 0xF8FF),  # Co (private use)
    (0xFEFF, 0xFEFF),  # Cf again
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
    (0xF0000, 0xFFFFD),  # Co
    (0x100000, 0x10FFFD),  # Co
)


def _class_char(code: int) -> str:
    # BMP characters as \uXXXX escapes (read alike by Python's re and ECMA-262); others as
    # themselves (ECMA-262 engines read them with the `u` flag, as JSON Schema validators do).
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _class(ranges: tuple[tuple[int, int], ...]) -> str:
    """The inside of a regex character class holding `ranges`."""
    return "".join(
        _class_char(low) if low == high else f"{_class_char(low)}-{_class_char(high)}"
        for low, high in ranges
    )


# The two private-use planes (15 and 16) are refused by a pattern of their own (PROMPT_SCHEMA's
# `not`): test generators build a character class one code point at a time, and these two
# ranges alone hold 131068.
_PLANES = tuple((low, high) for low, high in REFUSED_IN_PROMPTS if low >= 0xF0000)
_SPACE = _class(SPACES)
_REFUSED = _class(tuple(r for r in REFUSED_IN_PROMPTS if r not in _PLANES))
WHITESPACE = f"[{_SPACE}]"
# Whitespace (which str.strip removes, refused characters included), then the prompt: no
# refused character, ending with one that is not whitespace; then whitespace again.
PROMPT_PATTERN = f"^{WHITESPACE}*[^{_REFUSED}]*[^{_SPACE}{_REFUSED}]{WHITESPACE}*$"
PRIVATE_PLANES_PATTERN = f"[{_class(_PLANES)}]"
BLANK_PATTERN = f"^{WHITESPACE}*$"
# IMAGE_URL as pydantic reads it (Rust's regex, where `\s` is Unicode White_Space), spelled
# out for the schema: ECMA-262's `\s` is another set.
WHITE_SPACE: tuple[tuple[int, int], ...] = (
    (0x0009, 0x000D),
    (0x0020, 0x0020),  # str.strip's 0x1C-0x1F (information separators) are not in it
    *SPACES[2:],
)
IMAGE_URL_SCHEMA = f"^https?://[^{_class(WHITE_SPACE)}]+$"
# maxLength counts the whitespace around the prompt too (the server counts the trimmed text):
# there the schema is the narrower of the two.
PROMPT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_PROMPT_CHARS,
    "pattern": PROMPT_PATTERN,
    "not": {"pattern": PRIVATE_PLANES_PATTERN},
}
# negativePrompt: left out, null or blank is no negative prompt; otherwise a prompt.
NEGATIVE_PROMPT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_PROMPT_CHARS, "pattern": BLANK_PATTERN},
        PROMPT_SCHEMA,
        {"type": "null"},
    ]
}
_PROMPT_RULE = (
    f"At most {MAX_PROMPT_CHARS} characters (the server's limits.max_prompt_chars), not blank, "
    "without control or format characters other than tab and newline"
)

# -- colours (imaging/colors.py) -----------------------------------------------------------
#
# A colour is a CSS name or "transparent" (the server also ignores case, spaces, '_' and '-'
# in names: "Light Blue"), or a hex code #RGB, #RGBA, #RRGGBB or #RRGGBBAA ('#' optional);
# blank means transparent.
COLOR_NAMES: list[JsonValue] = ["transparent", *CSS_COLORS]
_HEX = f"^{WHITESPACE}*#?(?:[0-9A-Fa-f]{{3,4}}|[0-9A-Fa-f]{{6}}|[0-9A-Fa-f]{{8}}){WHITESPACE}*$"
COLOR_SCHEMAS: list[dict[str, Any]] = [
    {"type": "string", "pattern": BLANK_PATTERN},
    {"type": "string", "enum": COLOR_NAMES},
    {"type": "string", "pattern": _HEX},
]
# What remove-background takes as a URL (api/urls.py looks_like_url): the image it names is
# looked up, so one that is not an image of this key is 404 INVALID_IMAGE_URL.
_URL_LIKE = f"^{WHITESPACE}*(?://|[Ww]{{3}}\\.)|://"
BACKGROUND_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "maxLength": 2048,
            "anyOf": [*COLOR_SCHEMAS, {"type": "string", "pattern": _URL_LIKE}],
        },
        {"type": "null"},
    ]
}


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


# Preview backgrounds are colours only (no image URL).
PREVIEW_BACKGROUND_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "maxLength": 40, "anyOf": COLOR_SCHEMAS}, {"type": "null"}]
}

# -- layouts (imaging/layout_options.py) ---------------------------------------------------
#
# The server reads a canvas and a padding trimmed (str.strip) and in lower case (str.lower):
# the patterns spell out every letter's capitals, the Kelvin sign K included ("K".lower()
# is "k"; tests/api/test_schemas.py checks no other character lowers to these letters).
_CAPITALS = {"k": "K\\u212a"}


def _any_case(word: str) -> str:
    """`word` (lower-case letters, digits and '-') in any case, as a pattern."""
    assert re.fullmatch("[a-z0-9-]+", word), word
    return "".join(
        f"[{char}{char.upper()}{_CAPITALS.get(char, '')}]" if char.isalpha() else char
        for char in word
    )


# 1 to 5 ASCII digits, not all zero: a canvas side is at least 1 pixel.
_SIDE = "(?:[1-9][0-9]{0,4}|0[1-9][0-9]{0,3}|00[1-9][0-9]{0,2}|000[1-9][0-9]?|0000[1-9])"
_CANVAS_NAMES = "|".join(_any_case(name) for name in (*PRESETS, "original", "subject"))
CANVAS_PATTERN = (
    f"^{WHITESPACE}*(?:{_CANVAS_NAMES}|{_SIDE}{WHITESPACE}*[xX\\u00d7]{WHITESPACE}*{_SIDE})"
    f"{WHITESPACE}*$"
)
# One side's padding: pixels (40px, or a bare number from 1 up), a fraction up to 0.49 or a
# percentage up to 49%.
_PIXELS = "[0-9]+(?:\\.[0-9]+)?[pP][xX]|0*[1-9][0-9]*(?:\\.[0-9]+)?"
_FRACTION = "0+(?:\\.(?:[0-3][0-9]*|4(?:[0-8][0-9]*|90*)?))?"
_PERCENT = "0*(?:[1-3]?[0-9]|4[0-8])(?:\\.[0-9]+)?%|0*49(?:\\.0+)?%"
_LENGTH = f"(?:{_PIXELS}|{_FRACTION}|{_PERCENT})"
# 1, 2 or 4 of them, apart by whitespace or commas.
_APART = f"[{_SPACE},]"
_MORE = f"(?:{_APART}+{_LENGTH}(?:{_APART}+{_LENGTH}{_APART}+{_LENGTH})?)?"
PADDING_PATTERN = f"^{_APART}*{_LENGTH}{_MORE}{_APART}*$"
CANVAS_SCHEMA = _or_null({"type": "string", "maxLength": 40, "pattern": CANVAS_PATTERN})
PADDING_SCHEMA = _or_null({"type": "string", "maxLength": 60, "pattern": PADDING_PATTERN})
# What _canvas and _padding accept, stated by these schemas.
_Canvas = Annotated[str | None, AfterValidator(_canvas), WithJsonSchema(CANVAS_SCHEMA)]
_Padding = Annotated[str | None, AfterValidator(_padding), WithJsonSchema(PADDING_SCHEMA)]

MODEL_IDS: list[JsonValue] = list(BUILTIN_MODELS)
ENGINES: list[JsonValue] = [engine.value for engine in GenerationEngine]


class UploadImageUrlRequest(_Body):
    uploadType: Literal["imageUrl"] = Field("imageUrl", examples=["imageUrl"])
    size: JsonInt = Field(
        ge=1,
        le=MAX_UPLOAD_BYTES,
        examples=[791436],
        description="Exact size of the image in bytes (<= 5 MB)",
    )
    contentType: str = Field(
        examples=["image/jpeg"],
        description="image/jpeg, image/png, image/webp or image/heic (image/heif)",
        json_schema_extra={"enum": CONTENT_TYPES},
    )


class RemoveBackgroundRequest(_Body):
    imageUrl: str = Field(
        max_length=2048,
        pattern=IMAGE_URL,
        json_schema_extra={"pattern": IMAGE_URL_SCHEMA},
        examples=["http://127.0.0.1:8000/images/uploads/3f2a.jpg"],
    )
    background: Annotated[str | None, WithJsonSchema(BACKGROUND_SCHEMA)] = Field(
        None,
        max_length=2048,
        description="Empty or 'transparent'; a CSS colour name (case, spaces, '_' and '-' "
        "ignored) or a hex code #RGB, #RGBA, #RRGGBB or #RRGGBBAA; or an image URL from "
        "uploadImageUrl",
        examples=["transparent", "#ffcc00", "lightblue"],
    )
    # Optional fields beyond LightX; a LightX client never sends them, so its results stay
    # PNG, uncropped, full size, RGBA, from the server's default model.
    model: Annotated[str | None, WithJsonSchema(_or_null({"enum": MODEL_IDS}))] = Field(
        None,
        max_length=40,
        description="Segmentation model id (`backdrop models list`): a built-in one, or one "
        "the operator added in models.json; default: the server's",
        examples=[DEFAULT_MODEL],
    )
    format: OutputFormat | None = Field(
        None, description="Output format; jpg has no alpha and is flattened onto white"
    )
    crop: bool | None = Field(
        None, description="Crop output and mask to the subject (alpha >= 0.5) plus cropMargin"
    )
    cropMargin: _CropMargin | None = Field(
        None,
        description="Pixels of the input kept around the subject",
    )
    size: Literal["preview", "full"] | _LongSide | None = Field(
        None,
        description="preview (long side 625), full (the input's size, default) or a maximum "
        "long side in pixels; never enlarges",
        examples=["preview", 1500],
    )
    channels: Channels | None = Field(
        None, description="rgba (default) or alpha: the output is the matte only"
    )
    # Product photos: a layout on a canvas, a shadow, light matched to the background.
    canvas: _Canvas = Field(
        None,
        max_length=40,
        description="The result's canvas: WIDTHxHEIGHT (e.g. 2000x2000), original, subject, or "
        "a preset (" + ", ".join(PRESETS) + "; marketplace presets are on white unless a "
        "background is given); the subject is centred in it and enlarged at most 2x",
        examples=["2000x2000", "square-white"],
    )
    padding: _Padding = Field(
        None,
        max_length=60,
        description="Room around the subject on the canvas, as in CSS with 1, 2 or 4 values: "
        "8%, 0.08 (a fraction of the canvas side, below 0.49) or 40px",
        examples=["8%", "5% 10%"],
    )
    align: Alignment | None = Field(
        None, description="Where the subject sits in the padded canvas (default center)"
    )
    shadow: ShadowMode | None = Field(
        None,
        description="A shadow under the subject: contact, drop, cast, floating or reflection; "
        "on a transparent result it is semi-transparent black",
    )
    lightMatch: bool | None = Field(
        None,
        description="Nudge the subject's exposure and colour temperature toward an image "
        "background (bounded, so product colours stay true); default false",
    )


class _GenerationOptions(_Body):
    """Optional fields beyond LightX; a LightX client never sends them."""

    seed: _Seed | None = Field(
        None,
        description="Same seed and inputs give the same image",
    )
    negativePrompt: Annotated[str | None, WithJsonSchema(NEGATIVE_PROMPT_SCHEMA)] = Field(
        None,
        description="What the diffusion engine should avoid; blank is none. " + _PROMPT_RULE,
        examples=["text, watermark"],
    )
    styleImageUrl: str | None = Field(
        None,
        max_length=2048,
        description="An uploaded image whose palette and light the background takes (studio)",
    )
    engine: Annotated[str | None, WithJsonSchema(_or_null({"enum": ENGINES}))] = Field(
        None, max_length=40, description="studio (default) or diffusion", examples=["studio"]
    )
    framing: Literal["place", "keep"] | None = Field(
        None,
        description="place (default): the subject is scaled to a good share of the frame, "
        "centred and stood on the scene's floor; keep: it stays where and as large as it is "
        "in the photo. The diffusion engine always keeps it.",
        examples=["place"],
    )


def _required(*names: str) -> Any:
    """Model-level JSON Schema: these fields are required (the model itself stays lenient,
    so that the server answers their absence as LightX does)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["required"] = [*schema.get("required", []), *names]
        for name in names:
            schema["properties"][name].pop("default", None)

    return extra


class BackgroundGeneratorRequest(_GenerationOptions):
    # LightX requires textPrompt; without one the answer is LightX's 400/5041.
    model_config = ConfigDict(json_schema_extra=_required("textPrompt"))

    imageUrl: str = Field(
        max_length=2048, pattern=IMAGE_URL, json_schema_extra={"pattern": IMAGE_URL_SCHEMA}
    )
    textPrompt: Annotated[str | None, WithJsonSchema(PROMPT_SCHEMA)] = Field(
        None, description=_PROMPT_RULE, examples=["Beautiful sunset over mountains"]
    )


# A product photoshoot needs a prompt, a style image, or both (LightX's sample clients send
# either); with neither the answer is 400.
_PROMPT_OR_STYLE: dict[str, Any] = {
    "anyOf": [
        {"required": ["textPrompt"], "properties": {"textPrompt": {"type": "string"}}},
        {
            "required": ["styleImageUrl"],
            "properties": {"styleImageUrl": {"type": "string", "minLength": 1}},
        },
    ]
}


class ProductPhotoshootRequest(_GenerationOptions):
    """LightX's product photoshoot: a prompt, a style image, or both."""

    model_config = ConfigDict(json_schema_extra=_PROMPT_OR_STYLE)

    imageUrl: str = Field(
        max_length=2048, pattern=IMAGE_URL, json_schema_extra={"pattern": IMAGE_URL_SCHEMA}
    )
    textPrompt: Annotated[str | None, WithJsonSchema(_or_null(PROMPT_SCHEMA))] = Field(
        None,
        description="Give textPrompt, styleImageUrl or both. " + _PROMPT_RULE,
        examples=["white marble countertop, morning light"],
    )


class ProductPreviewRequest(_Body):
    """A finished transparent removal laid out, shadowed and put on a colour, small."""

    orderId: str = Field(max_length=64, examples=["7906da5353b504162db5199d6"])
    canvas: _Canvas = Field(
        None, max_length=40, description="As remove-background's canvas", examples=["2000x2000"]
    )
    padding: _Padding = Field(
        None, max_length=60, description="As remove-background's padding", examples=["8%"]
    )
    align: Alignment | None = Field(None, description="As remove-background's align")
    shadow: ShadowMode | None = Field(None, description="As remove-background's shadow")
    background: Annotated[str | None, WithJsonSchema(PREVIEW_BACKGROUND_SCHEMA)] = Field(
        None,
        max_length=40,
        description="Empty or transparent (default), a CSS colour name or a hex code",
        examples=["#ffffff"],
    )
    longSide: Annotated[int, Field(ge=64, le=4000), BeforeValidator(_json_integer)] = Field(
        800,
        description="The preview's long side in pixels at most (the layout shrunk to it; "
        "never more than the canvas): the page's live preview asks 800, its download 4000",
    )


class OrderStatusRequest(_Body):
    orderId: str = Field(max_length=64, examples=["7906da5353b504162db5199d6"])
