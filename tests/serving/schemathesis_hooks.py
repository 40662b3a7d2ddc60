"""Schemathesis checks for what JSON Schema cannot say (loaded with SCHEMATHESIS_HOOKS).

With them, every built-in check runs on every operation; schemathesis.toml only widens two
expected statuses, and these checks narrow them back to the answers meant:

- remove.bg answers 400 for everything a client got wrong, including what the LightX routes
  answer 404, 413 or 415: an image URL that names no image of the key, bytes that are no
  image. A schema-valid request may be refused only for those (the schema cannot say which
  bytes decode as an image), never as malformed (`invalid_request`, `invalid_parameters`).
- Photoroom's routes likewise refuse a schema-valid request only for its image; a query
  string (GET /v2/edit) also for how its parameters combine (`invalid_combination`), which
  an OpenAPI query cannot state (the multipart form's schema does).
- The LightX routes refuse a schema-valid request (400 INVALID_REQUEST) only for a canvas
  over the server's pixel limit (width times height) and, for product-preview, an order
  that is not a finished removal: what JSON Schema cannot state.
- A model that the schema names (a built-in id) but that is not installed on this server is
  answered 503 MODEL_UNAVAILABLE, as documented. No other 5xx is allowed.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

from backdrop.api.schemas import PRIVATE_PLANES_PATTERN

REMOVEBG = "/v1.0/removebg"
PHOTOROOM = ("/v1/segment", "/v2/edit")
# remove.bg's codes for what the image's bytes or its URL decide, not the request's shape.
IMAGE_REFUSALS = frozenset(
    {
        "invalid_image",
        "unsupported_media_type",
        "image_dimensions_too_large",
        "image_too_large",
        "invalid_image_url",
        "image_not_found",
        "unable_to_process",
    }
)


def _code(response: Response) -> str:
    """The error's code: remove.bg's `errors[0].code`, Photoroom's `type` or LightX's
    `message`, in lower case."""
    body: Any = response.json()
    if "errors" in body:
        return str(body["errors"][0]["code"])
    if "status_code" in body and "type" in body:
        return str(body["type"])
    return str(body["message"]).lower()


FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Case) -> bool:
    """A form carries text and files, nothing else: a number, a flag, null, a list or an
    object drawn for a form field (a negative case's type mutation) goes out as its text, as
    repeated fields or as none at all, which may well be a valid request. Such a case tests
    the encoder, not the server: leave it out."""
    if case.media_type in FORMS and isinstance(case.body, dict):
        return all(isinstance(value, (str, bytes)) for value in case.body.values())
    return True


def _is_positive(case: Case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


@schemathesis.check
def removebg_refuses_valid_requests_only_for_their_image(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    if case.operation.path != REMOVEBG or response.status_code != 400 or not _is_positive(case):
        return None
    code = _code(response)
    if code not in IMAGE_REFUSALS:
        raise AssertionError(
            f"a schema-valid remove.bg request was refused as {code!r}: {response.text[:300]}"
        )
    return None


@schemathesis.check
def photoroom_refuses_valid_requests_only_for_their_image(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    path = case.operation.path
    if path not in PHOTOROOM or response.status_code != 400 or not _is_positive(case):
        return None
    code = _code(response)
    allowed = IMAGE_REFUSALS
    if case.operation.method.upper() == "GET":
        allowed = allowed | {"invalid_combination"}
    prompt = case.body.get("background.prompt") if isinstance(case.body, dict) else None
    if isinstance(prompt, str) and re.search(PRIVATE_PLANES_PATTERN, prompt):
        # The form's schema leaves out the `not` that refuses these (see photoroom/examples.py).
        allowed = allowed | {"invalid_prompts_detected"}
    if code not in allowed:
        raise AssertionError(
            f"a schema-valid Photoroom request was refused as {code!r}: {response.text[:300]}"
        )
    return None


LIGHTX = "/external/api/v1/"
CANVAS_TOO_LARGE = re.compile(r"^canvas: \d+x\d+ is [\d.]+ MP, over this server's limit")
NOT_PREVIEWABLE = "orderId: a preview needs"


@schemathesis.check
def lightx_refuses_valid_requests_only_for_what_the_schema_cannot_state(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    path = case.operation.path
    if not path.startswith(LIGHTX) or response.status_code != 400 or not _is_positive(case):
        return None
    detail = str(response.json().get("body", {}).get("detail", ""))
    allowed = _code(response) == "invalid_request" and (
        CANVAS_TOO_LARGE.match(detail) is not None
        or (path.endswith("/product-preview") and detail.startswith(NOT_PREVIEWABLE))
    )
    if not allowed:
        raise AssertionError(f"a schema-valid LightX request was refused: {response.text[:300]}")
    return None


@schemathesis.check
def server_errors_are_models_not_installed(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    if response.status_code < 500:
        return None
    if response.status_code == 503 and _code(response) == "model_unavailable":
        return None
    raise AssertionError(f"{response.status_code}: {response.text[:300]}")
