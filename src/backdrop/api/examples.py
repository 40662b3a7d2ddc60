"""OpenAPI `responses=` for every route: a success example and each error it can answer."""

from __future__ import annotations

from typing import Any

from backdrop.api.responses import ErrorEnvelope


def _error(http_status: int, code: int, message: str, detail: str) -> tuple[int, str, Any]:
    return (
        http_status,
        message,
        {"statusCode": code, "message": message, "body": {"detail": detail}},
    )


def _ok(body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 2000, "message": "SUCCESS", "body": body}


_BAD_REQUEST = _error(400, 4000, "INVALID_REQUEST", "size: Field required")
_BAD_KEY = _error(403, 4003, "INVALID_API_KEY", "the x-api-key header is missing or unknown")
_TOO_BIG = _error(413, 4013, "PAYLOAD_TOO_LARGE", "the request body exceeds 65536 bytes")
_BUSY = _error(
    503, 5031, "SERVICE_UNAVAILABLE", "orders would wait about 40 s now; try again shortly"
)
_LIMITED = _error(429, 4029, "RATE_LIMIT_EXCEEDED", "limit of 20 per 1 second request rate reached")
_INTERNAL = _error(500, 5000, "INTERNAL_ERROR", "an unexpected error occurred")


def responses(
    success: dict[str, Any] | None, *errors: tuple[int, str, Any]
) -> dict[int | str, dict[str, Any]]:
    """A `responses=` mapping: errors sharing an HTTP status become named examples of it."""
    result: dict[int | str, dict[str, Any]] = {}
    if success is not None:
        result[200] = {"content": {"application/json": {"example": _ok(success)}}}
    for http_status, name, example in (*errors, _INTERNAL):
        entry = result.setdefault(
            http_status,
            {
                "description": name,
                "model": ErrorEnvelope,
                "content": {"application/json": {"examples": {}}},
            },
        )
        entry["content"]["application/json"]["examples"][name] = {"value": example}
    return result


UPLOAD_IMAGE_URL = responses(
    {
        "uploadImage": "http://127.0.0.1:8000/images/uploads/3f2a.jpg?keyId=k1&size=791436"
        "&contentType=image%2Fjpeg&expires=1767225599&signature=9c1d...",
        "imageUrl": "http://127.0.0.1:8000/images/uploads/3f2a.jpg",
        "size": 791436,
    },
    _BAD_REQUEST,
    _error(400, 4010, "SIZE_MISMATCH", "size must be between 1 and 5242880 bytes"),
    _BAD_KEY,
    _LIMITED,
    _error(
        402, 5040, "API_CREDITS_CONSUMED", "the cheapest order costs 0.5 credits; 0.0 are available"
    ),
    _TOO_BIG,
    _error(
        415,
        4015,
        "UNSUPPORTED_MEDIA_TYPE",
        "contentType must be image/jpeg, image/png or image/webp",
    ),
)

PUT_IMAGE = responses(
    None,
    _error(400, 4009, "INVALID_IMAGE", "the image could not be decoded"),
    _error(400, 4010, "SIZE_MISMATCH", "the body has 1000 bytes, the URL was signed for 791436"),
    _error(403, 4007, "INVALID_OR_EXPIRED_SIGNATURE", "the upload URL expired"),
    _error(404, 4005, "IMAGE_NOT_FOUND", "this upload has expired; ask for a new upload URL"),
    _error(413, 4014, "IMAGE_DIMENSIONS_TOO_LARGE", "the image has more than 40000000 pixels"),
    _error(415, 4015, "UNSUPPORTED_MEDIA_TYPE", "the bytes are a PNG image, not image/jpeg"),
)

GET_IMAGE = responses(
    None, _error(404, 4005, "IMAGE_NOT_FOUND", "no image uploads/3f2a.jpg (images live 24 hours)")
)

_ORDER_NOT_FOUND = _error(404, 4004, "ORDER_NOT_FOUND", "no order '7906da5353b504162db5199d6'")

_ORDER_CREATED = {
    "orderId": "7906da5353b504162db5199d6",
    "maxRetriesAllowed": 5,
    "avgResponseTimeInSec": 5,
    "status": "init",
}
_ORDER_ERRORS = (
    _BAD_REQUEST,
    _error(404, 4006, "INVALID_IMAGE_URL", "imageUrl must be an image URL issued by this server"),
    _error(402, 5040, "API_CREDITS_CONSUMED", "the key has 0.25 credits; this costs 0.5"),
    _BAD_KEY,
    _LIMITED,
    _TOO_BIG,
    _BUSY,
)

_INVALID_BACKGROUND = _error(400, 4008, "INVALID_BACKGROUND", "use a colour name or #RRGGBB")
# A canvas the schema allows but over the server's pixel limit (limits.max_pixels): JSON
# Schema cannot state a limit on width times height. Named apart from INVALID_REQUEST's
# example; the answer's message is INVALID_REQUEST.
CANVAS_TOO_LARGE = (
    400,
    "CANVAS_TOO_LARGE",
    _error(
        400,
        4000,
        "INVALID_REQUEST",
        "canvas: 99999x99999 is 9999.8 MP, over this server's limit of 40 MP",
    )[2],
)

REMOVE_BACKGROUND = responses(
    _ORDER_CREATED,
    *_ORDER_ERRORS,
    _INVALID_BACKGROUND,
    CANVAS_TOO_LARGE,
    _error(400, 4020, "UNKNOWN_MODEL", "unknown model 'x'; known models: isnet-general, ..."),
    _error(
        503,
        5030,
        "MODEL_UNAVAILABLE",
        "model 'birefnet' is not installed here; run `backdrop models fetch --model ...`",
    ),
)

BACKGROUND_GENERATOR = responses(
    _ORDER_CREATED,
    *_ORDER_ERRORS,
    _error(400, 5041, "INVALID_PROMPTS_DETECTED", "the prompt is longer than 1000 characters"),
    _error(
        400,
        4020,
        "UNKNOWN_MODEL",
        "unknown generation engine 'x'; known engines: studio, diffusion",
    ),
)

ORDER_STATUS = responses(
    {
        "orderId": "7906da5353b504162db5199d6",
        "status": "active",
        "output": "http://127.0.0.1:8000/images/results/7906da5353b504162db5199d6.png",
        "mask": "http://127.0.0.1:8000/images/results/7906da5353b504162db5199d6.mask.png",
    },
    _BAD_REQUEST,
    _BAD_KEY,
    _LIMITED,
    _ORDER_NOT_FOUND,
)

# The preview is an image; its errors are LightX's.
PRODUCT_PREVIEW = {
    **responses(
        None,
        _BAD_REQUEST,
        (
            400,
            "ORDER_NOT_PREVIEWABLE",
            _error(
                400,
                4000,
                "INVALID_REQUEST",
                "orderId: a preview needs a finished remove-background order",
            )[2],
        ),
        _INVALID_BACKGROUND,
        CANVAS_TOO_LARGE,
        _BAD_KEY,
        _LIMITED,
        _ORDER_NOT_FOUND,
        _TOO_BIG,
    ),
    200: {"content": {"image/png": {}, "image/jpeg": {}}},
}

ACCOUNT = responses({"credits": 99.5}, _BAD_KEY, _LIMITED)

MODELS = responses(
    {
        "defaultModel": "isnet-general",
        "installed": ["isnet-general", "isnet-general-mirror", "isnet-general-int8"],
        "qualities": {
            "fast": "isnet-general-int8",
            "balanced": "isnet-general",
            "best": "isnet-general-mirror",
        },
    },
    _BAD_KEY,
    _LIMITED,
)

LIVEZ = responses({"status": "ok"})

HEALTH = responses(
    {"status": "ok", "version": "0.1.0"},
    _error(503, 5031, "SERVICE_UNAVAILABLE", "the database is unreachable"),
)
