"""The LightX HTTP protocol, without I/O: paths, payloads and the envelope."""

from __future__ import annotations

from typing import Any

import httpx

from backdrop.client.errors import ApiError, error_for

SUCCESS = 2000
UPLOAD_PATH = "/external/api/v2/uploadImageUrl"
REMOVE_PATH = "/external/api/v1/remove-background"
GENERATE_PATH = "/external/api/v1/background-generator"
STATUS_PATH = "/external/api/v1/order-status"
ACCOUNT_PATH = "/external/api/v1/account"


def parse_envelope(response: httpx.Response) -> dict[str, Any]:
    """The `body` of a successful envelope; any error becomes a typed ApiError."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = response.text[:200].strip() or response.reason_phrase
        raise error_for(response.status_code, response.status_code * 10, "INVALID_RESPONSE", text)
    code = data.get("statusCode")
    if response.is_success and code in (SUCCESS, None):
        body = data.get("body")
        return body if isinstance(body, dict) else {}
    raise _error(response.status_code, data)


def _error(http_status: int, data: dict[str, Any]) -> ApiError:
    body = data.get("body")
    detail = body.get("detail") if isinstance(body, dict) else None
    code = data.get("statusCode")
    return error_for(
        http_status,
        code if isinstance(code, int) else http_status * 10,
        str(data.get("message") or "ERROR"),
        str(detail or data.get("message") or "no detail"),
    )


def raise_for_plain(response: httpx.Response, what: str) -> None:
    """Errors of non-envelope requests (the PUT upload, image downloads)."""
    if response.is_success:
        return
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and "statusCode" in data:
        raise _error(response.status_code, data)
    text = response.text[:200].strip() or response.reason_phrase
    raise error_for(response.status_code, response.status_code * 10, "ERROR", f"{what}: {text}")


def upload_request(size: int, content_type: str) -> dict[str, Any]:
    return {"uploadType": "imageUrl", "size": size, "contentType": content_type}


def removal_request(image_url: str, background: str, options: dict[str, Any]) -> dict[str, Any]:
    return {**options, "imageUrl": image_url, "background": background}


def generation_request(image_url: str, prompt: str, options: dict[str, Any]) -> dict[str, Any]:
    return {**options, "imageUrl": image_url, "textPrompt": prompt}
