"""OpenAPI for the remove.bg routes: the form they take, their answers and errors."""

from __future__ import annotations

from typing import Any

from backdrop.api.schemas import COLOR_SCHEMAS, MODEL_IDS, WHITESPACE


def _error(status: int, title: str, code: str, detail: str) -> tuple[int, str, dict[str, Any]]:
    return status, code, {"errors": [{"title": title, "code": code, "detail": detail}]}


_ERRORS = (
    _error(400, "Invalid request", "invalid_request", "no image given: send image_file, ..."),
    _error(400, "Invalid image url", "invalid_image_url", "no images from 'example.com'"),
    _error(
        400,
        "Unsupported media type",
        "unsupported_media_type",
        "the image is plain text; send a JPEG, PNG or WebP",
    ),
    _error(400, "Unknown model", "unknown_model", "unknown model 'x'; known models: ..."),
    _error(402, "Insufficient credits", "insufficient_credits", "0.0 credits are available"),
    _error(403, "API key invalid", "auth_failed", "missing x-api-key header"),
    _error(
        503,
        "Service unavailable",
        "service_unavailable",
        "too many orders are waiting; try again shortly",
    ),
    _error(
        503,
        "Model unavailable",
        "model_unavailable",
        "model 'isnet-general-uint8' is not installed here; run `backdrop models fetch ...`",
    ),
)


def _responses(success: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    # "default" also stands in for FastAPI's 422, which these routes never answer.
    result: dict[int | str, dict[str, Any]] = {
        200: success,
        "default": {
            "description": "Any other error, in the same shape",
            "content": {"application/json": {"example": _ERRORS[0][2]}},
        },
    }
    for status, name, example in _ERRORS:
        entry = result.setdefault(
            status, {"description": name, "content": {"application/json": {"examples": {}}}}
        )
        entry["content"]["application/json"]["examples"][name] = {"value": example}
    return result


_HEADERS = {
    name: {"description": text, "schema": {"type": "string"}}
    for name, text in {
        "X-Type": "foreground type (the `type` asked for; `other` for auto)",
        "X-Width": "result width in pixels",
        "X-Height": "result height in pixels",
        "X-Credits-Charged": "credits taken (0.5)",
        "X-Foreground-Top": "top of the subject's box in the result",
        "X-Foreground-Left": "left of the subject's box in the result",
        "X-Foreground-Width": "width of the subject's box",
        "X-Foreground-Height": "height of the subject's box",
    }.items()
}

REMOVEBG = _responses(
    {
        "description": "The image (PNG, JPEG, WebP or a ZIP of color.jpg + alpha.png); with "
        "`Accept: application/json` the same in base64 with the subject's box.",
        "headers": _HEADERS,
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {
                "example": {
                    "data": {
                        "result_b64": "iVBORw0KGgo…",
                        "foreground_top": 81,
                        "foreground_left": 176,
                        "foreground_width": 288,
                        "foreground_height": 288,
                    }
                }
            },
        },
    }
)

ACCOUNT = _responses(
    {
        "description": "The key's balance",
        "content": {
            "application/json": {
                "example": {
                    "data": {
                        "attributes": {
                            "credits": {
                                "total": 99.5,
                                "subscription": 0,
                                "payg": 99.5,
                                "enterprise": 0,
                            },
                            "api": {"free_calls": 0, "sizes": "all"},
                        }
                    }
                }
            }
        },
    }
)

_TEXT = {"type": "string"}
_FLAG = {"type": "boolean"}
# A form carries text: the words a flag may be written as (pydantic's; any case).
_TRUE_WORDS = ["true", "1", "yes", "on", "t", "y"]
_FALSE_WORDS = ["false", "0", "no", "off", "f", "n"]
# What sources.decode_b64 decodes: base64 (whitespace between groups of four allowed), or a
# data URL carrying it; anything else is refused before the image is looked at.
_BASE64 = (
    r"^(?:data:[^,]*,)?\s*(?:[A-Za-z0-9+/]{4}\s*)*"
    r"(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\s*$"
)
# What params.py reads (str.split's whitespace between the values): pixels or percentages.
_S = WHITESPACE
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_LENGTH = f"{_NUMBER}{_S}*(?:px|%)?"
_PERCENT = rf"(?:100(?:\.0+)?|[0-9]{{1,2}}(?:\.[0-9]+)?){_S}*%"
_ROI_VALUE = f"(?:{_PERCENT}|{_NUMBER}{_S}*(?:px)?)"
_MARGINS = f"^{_S}*{_LENGTH}(?:{_S}+{_LENGTH}(?:{_S}+{_LENGTH}{_S}+{_LENGTH})?)?{_S}*$"
_ROI = f"^{_S}*{_ROI_VALUE}(?:{_S}+{_ROI_VALUE}){{3}}{_S}*$"
_SCALE = rf"^{_S}*(?:original|(?:100(?:\.0+)?|[1-9][0-9](?:\.[0-9]+)?){_S}*%){_S}*$"
_POSITION = f"^{_S}*(?:original|center|{_PERCENT}(?:{_S}+{_PERCENT})?){_S}*$"
# The image: exactly one of these (params.py, sources.image_key); an empty field is not given.
IMAGE_FIELDS = ("image_file", "image_file_b64", "image_url")
_FIELDS: dict[str, Any] = {
    "image_file": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP"},
    "image_file_b64": {
        **_TEXT,
        "pattern": _BASE64,
        "description": "the image in base64, or a data URL of it",
    },
    "image_url": {**_TEXT, "description": "a URL of this server or an allowed host"},
    "size": {
        "type": "string",
        "enum": ["auto", "preview", "small", "regular", "medium", "hd", "full", "4k", "50MP"],
        "default": "auto",
    },
    "type": {
        "type": "string",
        "enum": [
            "auto",
            "person",
            "product",
            "animal",
            "car",
            "car_interior",
            "car_part",
            "transportation",
            "graphics",
            "other",
        ],
        "default": "auto",
    },
    "type_level": {"type": "string", "enum": ["none", "1", "2", "latest"], "default": "1"},
    "format": {"type": "string", "enum": ["auto", "png", "jpg", "webp", "zip"], "default": "auto"},
    "crop": {**_FLAG, "default": False},
    "crop_margin": {
        **_TEXT,
        "default": "0",
        "pattern": _MARGINS,
        "description": "1, 2 or 4 values (top/bottom left/right; top right bottom left), each "
        "pixels (30px) or % of the subject's size (10%); at most 50% or 500px a side",
    },
    "channels": {"type": "string", "enum": ["rgba", "alpha"], "default": "rgba"},
    # A colour unless a background image is given, which takes its place (_background).
    "bg_color": {
        **_TEXT,
        "description": "hex (81d4fa, fff) or a CSS colour name (case, spaces, '_' and '-' "
        "ignored); not read when bg_image_file or bg_image_url is given",
    },
    "bg_image_url": _TEXT,
    "bg_image_file": {"type": "string", "format": "binary"},
    "semitransparency": {
        **_FLAG,
        "default": True,
        "description": "true keeps the model's soft alpha (hair, glass); false makes the "
        "matte hard (every pixel subject or background)",
    },
    "roi": {
        **_TEXT,
        "default": "0% 0% 100% 100%",
        "pattern": _ROI,
        "description": "x1 y1 x2 y2 in px or % of the image: only this region can be subject "
        "(x2 right of x1, y2 below y1)",
    },
    "scale": {
        **_TEXT,
        "pattern": _SCALE,
        "default": "original",
        "description": "the subject's size, 10% to 100% of what just fits the image, or original",
    },
    "position": {
        **_TEXT,
        "pattern": _POSITION,
        "default": "original",
        "description": "original, center, or one or two values 0%..100% (as CSS's "
        "background-position: 0% at the left/top edge, 100% at the right/bottom)",
    },
    "add_shadow": {
        **_FLAG,
        "default": False,
        "description": "a soft shadow on the floor under the subject (any subject type)",
    },
    # Not remove.bg's: backdrop's segmentation model.
    "model": {
        **_TEXT,
        "enum": MODEL_IDS,
        "description": "backdrop's segmentation model (`backdrop models list`): a built-in "
        "one, or one the operator added in models.json",
    },
}


def _form(fields: dict[str, Any]) -> dict[str, Any]:
    """The same fields as a form sends them: flags as the words for true and false."""
    form: dict[str, Any] = {}
    for name, field in fields.items():
        if field.get("type") == "boolean":
            words = [w for v in field.get("enum", [True, False]) for w in _words(v)]
            default = _words(field["default"])[0]
            field = {
                "type": "string",
                "pattern": f"^(?:{'|'.join(_any_case(w) for w in words)})$",
                "default": default,
                "description": "; ".join(
                    [*filter(None, [field.get("description")]), f"{', '.join(words)} in any case"]
                ),
            }
        form[name] = field
    return form


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _blank_allowed(fields: dict[str, Any]) -> dict[str, Any]:
    """An empty field counts as not given (remove.bg's clients send empty ones), whatever
    its type: the schema says so, since the server accepts it."""
    allowed: dict[str, Any] = {}
    for name, field in fields.items():
        field = dict(field)
        if "enum" in field:
            field["enum"] = [*field["enum"], ""]
            if field.get("type") == "boolean":
                field["type"] = ["boolean", "string"]
        elif field.get("type") == "boolean":
            field = {"anyOf": [field, {"const": ""}]}
        if "pattern" in field:
            field["pattern"] = f"^$|{field['pattern']}"
        allowed[name] = field
    return allowed


def _null_allowed(fields: dict[str, Any]) -> dict[str, Any]:
    """In JSON, null counts as not given too."""
    allowed: dict[str, Any] = {}
    for name, field in fields.items():
        field = dict(field)
        if "enum" in field:
            field["enum"] = [*field["enum"], None]
            types = field.get("type")
            if types is not None:
                field["type"] = [*(types if isinstance(types, list) else [types]), "null"]
        elif "anyOf" in field:
            field["anyOf"] = [*field["anyOf"], {"type": "null"}]
        else:
            field["type"] = [field["type"], "null"]
        allowed[name] = field
    return allowed


def _words(value: bool) -> list[str]:
    return _TRUE_WORDS if value else _FALSE_WORDS


def _one_image(fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Exactly one of `fields` holds something: a file part (even an empty one), or a text
    field that is not empty. Each branch also says the others are empty (or, for the file,
    absent), so no value drawn for one branch can match another."""
    branches: list[dict[str, Any]] = []
    for name in fields:
        properties: dict[str, Any] = {
            other: False if other == "image_file" else {"maxLength": 0}
            for other in fields
            if other != name
        }
        if name != "image_file":
            properties[name] = {"type": "string", "minLength": 1}
        branches.append({"required": [name], "properties": properties})
    return branches


def _background(files: bool, nullable: bool) -> list[dict[str, Any]]:
    """bg_color is a colour (or empty), unless a background image is given."""
    color = [*COLOR_SCHEMAS, {"type": "null"}] if nullable else COLOR_SCHEMAS
    branches: list[dict[str, Any]] = [{"properties": {"bg_color": {"anyOf": color}}}]
    if files:
        branches.append({"required": ["bg_image_file"]})
    branches.append(
        {
            "required": ["bg_image_url"],
            "properties": {"bg_image_url": {"type": "string", "minLength": 1}},
        }
    )
    return branches


def _left_empty(fields: dict[str, Any]) -> dict[str, Any]:
    """Text fields without a default get "" (what leaving one empty means): Swagger UI's
    "Try it out" otherwise fills each with a sample made from its pattern and sends them all,
    which no server takes."""
    return {
        name: field
        if "default" in field or field.get("format") == "binary"
        else field | {"default": ""}
        for name, field in fields.items()
    }


def _body(
    fields: dict[str, Any], images: tuple[str, ...], *, nullable: bool = False
) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": fields,
        "oneOf": _one_image(images),
        "anyOf": _background("image_file" in images, nullable),
    }


_TEXT_FIELDS = {k: v for k, v in _FIELDS.items() if not k.endswith("_file")}
# JSON has real booleans; crop_margin stays text there: the server also takes a number written
# as an integer (30), but JSON Schema cannot tell 30 from 30.0, which it refuses.
_JSON_FIELDS = _null_allowed(_blank_allowed(_TEXT_FIELDS))

_EXAMPLE_URL = "http://127.0.0.1:8000/images/uploads/3f2a.jpg"

REMOVEBG_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": _body(_left_empty(_blank_allowed(_form(_FIELDS))), IMAGE_FIELDS),
                "example": {"image_url": _EXAMPLE_URL, "size": "auto", "crop": "true"},
            },
            "application/x-www-form-urlencoded": {
                "schema": _body(_blank_allowed(_form(_TEXT_FIELDS)), IMAGE_FIELDS[1:]),
                "example": {"image_url": _EXAMPLE_URL, "bg_color": "81d4fa"},
            },
            "application/json": {
                "schema": _body(_JSON_FIELDS, IMAGE_FIELDS[1:], nullable=True),
                "example": {"image_url": _EXAMPLE_URL, "format": "png", "crop": True},
            },
        },
    },
    "parameters": [
        {
            "name": "Accept",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "application/json for the result in base64",
        },
    ],
}
