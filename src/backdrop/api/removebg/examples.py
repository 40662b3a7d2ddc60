"""OpenAPI for the remove.bg routes: the form they take, their answers and errors."""

from __future__ import annotations

from typing import Any


def _error(status: int, title: str, code: str, detail: str) -> tuple[int, str, dict[str, Any]]:
    return status, code, {"errors": [{"title": title, "code": code, "detail": detail}]}


_ERRORS = (
    _error(400, "Invalid request", "invalid_request", "no image given: send image_file, ..."),
    _error(400, "Invalid image url", "invalid_image_url", "no images from 'example.com'"),
    _error(402, "Insufficient credits", "insufficient_credits", "0.0 credits are available"),
    _error(403, "API key invalid", "auth_failed", "missing x-api-key header"),
    _error(
        503,
        "Service unavailable",
        "service_unavailable",
        "too many orders are waiting; try again shortly",
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
_FIELDS: dict[str, Any] = {
    "image_file": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP"},
    "image_file_b64": {**_TEXT, "description": "the image in base64"},
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
    "format": {"type": "string", "enum": ["auto", "png", "jpg", "webp", "zip"], "default": "auto"},
    "crop": {**_FLAG, "default": False},
    "crop_margin": {
        **_TEXT,
        "default": "0",
        "pattern": r"^\s*\d+\s*(px)?\s*$",
        "description": "pixels, e.g. 30px",
    },
    "channels": {"type": "string", "enum": ["rgba", "alpha"], "default": "rgba"},
    "bg_color": {**_TEXT, "description": "hex (81d4fa, fff) or a colour name"},
    "bg_image_url": _TEXT,
    "bg_image_file": {"type": "string", "format": "binary"},
    "semitransparency": {**_FLAG, "default": True},
    # Only what this server does; other values are refused with a reason (params.py).
    "roi": {
        **_TEXT,
        "default": "0% 0% 100% 100%",
        "pattern": r"^\s*0%\s+0%\s+100%\s+100%\s*$",
        "description": "only the whole image",
    },
    "scale": {**_TEXT, "enum": ["original"], "default": "original"},
    "position": {**_TEXT, "enum": ["original", "center"], "default": "original"},
    "add_shadow": {**_FLAG, "enum": [False], "default": False, "description": "only false"},
}


def _form(fields: dict[str, Any]) -> dict[str, Any]:
    """The same fields as a form sends them: flags as the words for true and false."""
    form: dict[str, Any] = {}
    for name, field in fields.items():
        if field.get("type") == "boolean":
            words = [w for v in field.get("enum", [True, False]) for w in _words(v)]
            default = _words(field["default"])[0]
            field = {"type": "string", "enum": words, "default": default}
        form[name] = field
    return form


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


def _words(value: bool) -> list[str]:
    return _TRUE_WORDS if value else _FALSE_WORDS


REMOVEBG_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": _blank_allowed(_form(_FIELDS))}
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": _blank_allowed(
                        {k: v for k, v in _FIELDS.items() if not k.endswith("_file")}
                    ),
                }
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
