"""OpenAPI for the Photoroom routes: the fields they take (exactly the subset backdrop
implements), their answers and their errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from backdrop.api.photoroom.errors import error_body
from backdrop.api.photoroom.options import NOT_WITH_PROMPT
from backdrop.api.photoroom.params import LENGTH_PATTERN, SIDES, EditFields, SegmentFields
from backdrop.api.schemas import COLOR_SCHEMAS, MODEL_IDS, PROMPT_SCHEMA
from backdrop.imaging.uncertainty import UNDECIDED_SCALE

_LENGTH = {
    "type": "string",
    "pattern": LENGTH_PATTERN,
    "description": "a fraction 0..0.49 (0.1), a percentage 0%..49% (10%) or pixels 0..10000 "
    "(100px), without spaces",
}
_NOTES: dict[str, str] = {
    "imageUrl": "a URL of this server, or of a host the operator allows (BACKDROP_FETCH__*)",
    "removeBackground": "only true: this server always cuts the subject out",
    "imageFile": "the photo (POST only)",
    "background.color": "hex without '#' (FF0000, FF0000EE) or a colour name; default transparent",
    "background.imageUrl": "an image behind the subject (cover-fitted); same URL rules",
    "background.prompt": "a generated background (1 credit): the studio or diffusion engine "
    "frames the subject and draws its shadow, so layout fields and shadow.mode are refused "
    "with it",
    "background.seed": "the generation's seed; the answer's pr-ai-background-seed says which",
    "background.scaling": "only fill",
    "background.blur.mode": "only gaussian: the photo itself, blurred, behind the subject",
    "background.blur.radius": "the blur as a fraction of the photo's long side (default 0.01)",
    "outputSize": "auto (= originalImage), originalImage, croppedSubject or WxH (each 1..10000)",
    "maxWidth": "only with outputSize auto, originalImage or croppedSubject",
    "maxHeight": "only with outputSize auto, originalImage or croppedSubject",
    "scaling": "fit: the subject with its padding fits the canvas; fill: it covers it. The "
    "subject is never enlarged past 4x",
    "shadow.mode": "ai.soft: a soft contact shadow; ai.hard: a cast shadow on the ground; "
    "ai.floating: a soft ellipse below (semi-transparent black on transparent output)",
    "lighting.mode": "only ai.auto: the subject's exposure (within 10%) and colour "
    "temperature (within 4%) nudged toward an image background (background.imageUrl, "
    "background.imageFile or background.blur.mode); on a colour or transparency there is "
    "nothing to match and the subject is left as it is",
    "export.format": "jpeg and jpg are the same; JPEG has no alpha (flattened onto white)",
    "export.dpi": "written into the PNG (pHYs) or JPEG (JFIF) header; not with webp",
    "keepExistingAlphaChannel": "only never",
    "preserveMetadata": "only never",
    "model": "not Photoroom's: backdrop's segmentation model (`backdrop models list`)",
    "format": "the result's format",
    "channels": "alpha: the matte alone, greyscale",
    "bg_color": "hex (#FF00FF) or a colour name; default transparent",
    "size": "preview 0.25 MP, medium 1.5 MP, hd 4 MP, full 36 MP (never enlarged)",
    "crop": "true: cropped to the subject's box",
    "despill": "accepted either way: backdrop's foreground-colour estimation already takes "
    "the old background's colour (a green screen's spill) out of the subject's soft edges; "
    "reflections inside the subject are not recoloured",
}


# Fields whose schema is written here rather than derived: what the server's parsers take.
_EXACT: dict[str, dict[str, Any]] = {
    **{f"{kind}{side}": _LENGTH for kind in ("padding", "margin") for side in ("", *SIDES)},
    "model": {"type": "string", "enum": MODEL_IDS},
    "removeBackground": {"enum": ["true"]},
    "background.color": {"anyOf": COLOR_SCHEMAS},
    "bg_color": {"anyOf": COLOR_SCHEMAS},
    # PROMPT_SCHEMA less its `not` (the private-use planes, which the server refuses too):
    # test generators cannot weigh a `not` inside a form that also carries a file's bytes.
    "background.prompt": {k: v for k, v in PROMPT_SCHEMA.items() if k != "not"},
}


def _properties(model: type[BaseModel]) -> dict[str, Any]:
    """Each field's schema as a form sends it (text, no nulls), with what it accepts."""
    schema = model.model_json_schema(by_alias=True)
    properties: dict[str, Any] = {}
    for name, field in schema["properties"].items():
        field = dict(field)
        branches = [b for b in field.pop("anyOf", []) if b.get("type") != "null"]
        if branches:
            field |= branches[0]
        field.pop("title", None)
        if "const" in field:  # a one-value Literal: listed like the others
            field["enum"] = [field.pop("const")]
        if field.get("default", "") is None:
            field.pop("default")
        field |= _EXACT.get(name, {})
        note = _NOTES.get(name)
        if note:
            field["description"] = note
        properties[name] = field
    return properties


_SEGMENT_FIELDS = {
    "image_file": {"type": "string", "format": "binary", "description": "JPEG, PNG, WebP or HEIC"},
    **_properties(SegmentFields),
}
_EDIT_FIELDS = _properties(EditFields)
_EDIT_FILES = {
    "imageFile": {"type": "string", "format": "binary", "description": "the photo"},
    "background.imageFile": {"type": "string", "format": "binary", "description": "a background"},
}

SEGMENT_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": _SEGMENT_FIELDS,
                    "required": ["image_file"],
                    "additionalProperties": False,
                },
            }
        },
    },
    "parameters": [
        {
            "name": "Accept",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": 'application/json for `{"base64img": ...}` instead of the bytes',
        }
    ],
}
_BACKGROUNDS = (
    "background.color",
    "background.imageUrl",
    "background.imageFile",
    "background.prompt",
    "background.blur.mode",
)
_NOT_WITH_PROMPT = sorted(NOT_WITH_PROMPT)


def _absent(*names: str) -> dict[str, Any]:
    return {"properties": {name: False for name in names}}


def _either(*branches: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": list(branches)}


# How the fields combine (options.check_edit): what a form's schema can state and a query
# string's cannot (there, each refusal is typed invalid_combination). Written with absent
# properties (`false`) rather than `not`/`if`, which test generators cannot weigh against a
# file's bytes.
_COMBINATIONS: dict[str, Any] = {
    # Exactly one image.
    "oneOf": [
        {"required": ["imageFile"], **_absent("imageUrl")},
        {"required": ["imageUrl"], **_absent("imageFile")},
    ],
    "allOf": [
        # At most one background: all but one of them absent.
        _either(*(_absent(*(o for o in _BACKGROUNDS if o != b)) for b in _BACKGROUNDS)),
        _either(_absent("background.seed"), {"required": ["background.prompt"]}),
        _either(_absent("background.blur.radius"), {"required": ["background.blur.mode"]}),
        # A generated background is framed by its engine.
        _either(_absent("background.prompt"), _absent(*_NOT_WITH_PROMPT)),
        _either(
            _absent("maxWidth", "maxHeight"),
            {"properties": {"outputSize": {"enum": ["auto", "originalImage", "croppedSubject"]}}},
        ),
        _either(
            _absent("export.dpi"),
            {"properties": {"export.format": {"enum": ["png", "jpeg", "jpg"]}}},
        ),
    ],
}

EDIT_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {**_EDIT_FILES, **_EDIT_FIELDS},
                    "additionalProperties": False,
                    **_COMBINATIONS,
                },
                "example": {"imageUrl": "http://127.0.0.1:8000/images/uploads/3f2a.jpg"},
            }
        },
    }
}
EDIT_QUERY: dict[str, Any] = {
    "parameters": [
        {"name": name, "in": "query", "required": name == "imageUrl", "schema": field}
        for name, field in _EDIT_FIELDS.items()
    ]
}

SEGMENT_DESCRIPTION = (
    "Photoroom's Remove Background API. The answer carries `x-uncertainty-score`: 0..1, "
    "how much of the matte is undecided. With a = alpha/255, each pixel with 0.1 < a < 0.9 "
    "counts 1 - |2a - 1|; the score is "
    f"min(1, {UNDECIDED_SCALE:g} x that sum / the number of pixels with a >= 0.5), and 1 "
    "when no subject is found. A crisp cut-out scores near 0; a wide soft or "
    "half-transparent band (a blurry, low-contrast or ambiguous subject) scores higher. "
    "0.5 credit a call."
)
EDIT_DESCRIPTION = (
    "Photoroom's Image Editing API, the subset backdrop implements: the fields below, with "
    "the values they list; anything else (lighting.mode=ai.preserve-hue-and-saturation, "
    "textRemoval.*, templateId, removeBackground=false, ...) is refused with a 400 naming "
    "it. A cut-out costs 0.5 credit, a generated background (background.prompt) 1; a "
    "failed call costs nothing. Cut-outs carry `x-uncertainty-score` (see /v1/segment)."
)


def _error(status: int, kind: str, detail: str, edit: bool) -> dict[str, Any]:
    return {"value": error_body(status, kind, detail, edit=edit)}


def _responses(success: dict[str, Any], edit: bool) -> dict[int | str, dict[str, Any]]:
    def entry(title: str, examples: dict[str, Any]) -> dict[str, Any]:
        return {"description": title, "content": {"application/json": {"examples": examples}}}

    return {
        200: success,
        400: entry(
            "Bad request: a parameter, its value or the image",
            {
                "invalid_request": _error(
                    400, "invalid_request", "shadow.mode: Input should be 'ai.soft', ...", edit
                ),
                "unsupported_media_type": _error(
                    400, "unsupported_media_type", "the image is plain text; send ...", edit
                ),
            },
        ),
        402: entry(
            "Not enough credits",
            {"credits": _error(402, "api_credits_consumed", "0.0 credits are available", edit)},
        ),
        403: entry(
            "Missing or wrong x-api-key",
            {"key": _error(403, "invalid_api_key", "missing x-api-key header", edit)},
        ),
        500: entry(
            "The server failed",
            {"internal": _error(500, "internal_error", "an unexpected error occurred", edit)},
        ),
        "default": entry(
            "Any other error (429, 503, 507), in the same shape",
            {
                "busy": _error(
                    503, "service_unavailable", "too many orders are waiting; try again", edit
                )
            },
        ),
    }


_IMAGES = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in ("image/png", "image/jpeg", "image/webp")
}
_SCORE = {
    "x-uncertainty-score": {
        "description": "0 (a crisp matte) .. 1 (undecided); how it is computed: /v1/segment",
        "schema": {"type": "string"},
    }
}
SEGMENT = _responses(
    {
        "description": 'The cut-out; with `Accept: application/json`, `{"base64img"}`',
        "headers": _SCORE,
        "content": {
            **_IMAGES,
            "application/json": {"example": {"base64img": "iVBORw0KGgo…"}},
        },
    },
    edit=False,
)
EDIT = _responses(
    {
        "description": "The edited image (PNG unless export.format says otherwise)",
        "headers": {
            **_SCORE,
            "pr-ai-background-seed": {
                "description": "with background.prompt: the seed used",
                "schema": {"type": "string"},
            },
        },
        "content": _IMAGES,
    },
    edit=True,
)
