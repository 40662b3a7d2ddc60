"""The OpenAPI schema says what the server does: a body valid by the published schema is not
refused as malformed (400), and one the schema refuses is refused by the server too.

Checked two ways: the hand-written patterns against the code they describe, for every code
point; and requests against a running app, judged by the schema as /openapi.json serves it
(with jsonschema_rs, the validator schemathesis uses).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backdrop.api.app import create_app
from backdrop.api.schemas import (
    CANVAS_SCHEMA,
    IMAGE_URL_SCHEMA,
    MAX_PROMPT_CHARS,
    PADDING_SCHEMA,
    PRIVATE_PLANES_PATTERN,
    PROMPT_PATTERN,
    PROMPT_SCHEMA,
    REFUSED_IN_PROMPTS,
    SPACES,
    WHITE_SPACE,
    RemoveBackgroundRequest,
)
from backdrop.engines.segmentation import Segmenter
from backdrop.errors import InvalidPrompt
from backdrop.imaging.layout import PRESETS
from backdrop.imaging.layout_options import canvas, sides
from backdrop.orders.prompts import check_prompt
from backdrop.serving.node import build_node
from backdrop.settings import Settings
from tests.api.flow import upload
from tests.conftest import FakeClock, jpeg_bytes, png_bytes, subject_photo

SURROGATES = range(0xD800, 0xE000)


def _members(ranges: tuple[tuple[int, int], ...]) -> set[int]:
    return {code for low, high in ranges for code in range(low, high + 1)}


def _text_code_points() -> Iterator[int]:
    return (code for code in range(0x110000) if code not in SURROGATES)


def test_the_character_tables_are_pythons() -> None:
    refused = {
        code
        for code in _text_code_points()
        if unicodedata.category(chr(code)) in {"Cc", "Cf", "Co"} and chr(code) not in "\t\n"
    }
    assert _members(REFUSED_IN_PROMPTS) == refused
    assert _members(SPACES) == {code for code in range(0x110000) if chr(code).isspace()}


def test_image_url_pattern_is_the_one_pydantic_applies() -> None:
    """The schema spells out the whitespace that pydantic's (Rust) `\\s` refuses in a URL."""
    schema_pattern = re.compile(IMAGE_URL_SCHEMA)
    refused_by_pydantic = set()
    for code in _text_code_points():
        url = f"http://a{chr(code)}b"
        try:
            RemoveBackgroundRequest(imageUrl=url)
        except ValidationError:
            refused_by_pydantic.add(code)
        assert (schema_pattern.search(url) is None) == (code in refused_by_pydantic), hex(code)
    assert refused_by_pydantic == _members(WHITE_SPACE)


def _accepted(prompt: str) -> bool:
    try:
        check_prompt(prompt, MAX_PROMPT_CHARS)
    except InvalidPrompt:
        return False
    return True


def test_prompt_schema_accepts_exactly_what_check_prompt_accepts() -> None:
    """By the schema's own validator (ECMA-262 patterns) and by Python's `re` (which test
    generators draw from), for every character alone, inside and around a prompt."""
    ecma = jsonschema_rs.validator_for(PROMPT_SCHEMA)
    pattern, planes = re.compile(PROMPT_PATTERN), re.compile(PRIVATE_PLANES_PATTERN)
    prompts = [
        prompt
        for code in _text_code_points()
        for char in [chr(code)]
        for prompt in (char, f"a{char}b", f"{char}a{char}")
    ]
    prompts += ["x" * MAX_PROMPT_CHARS, " \r\n sunset \x1c\x85 ", "\t", "", "a\U000f0000"]
    for prompt in prompts:
        accepted = _accepted(prompt)
        assert ecma.is_valid(prompt) == accepted, ascii(prompt)
        by_re = pattern.search(prompt) is not None and planes.search(prompt) is None
        assert by_re == accepted, ascii(prompt)


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def test_the_layout_letters_lower_only_from_their_capitals_and_kelvin() -> None:
    letters = set("".join(PRESETS) + "originalsubjectpx") - {"-"}
    lowering = {chr(c) for c in _text_code_points() if chr(c).lower() in letters} - letters
    kelvin = {"\u212a"} if "k" in letters else set()  # "\u212a".lower() == "k"
    assert lowering == {letter.upper() for letter in letters} | kelvin


@pytest.mark.parametrize(
    ("schema", "parse", "texts"),
    [
        (
            CANVAS_SCHEMA,
            canvas,
            [
                *PRESETS,
                "Square-White",
                "\u212aK",
                " ORIGINAL\t",
                "subject",
                "2000x2000",
                "2000 X 2000",
                "1\u00d71",
                "00001x99999",
                "0x5",
                "5x00000",
                "123456x1",
                "1x",
                "x1",
                "\u0663x\u0663",  # Arabic-Indic digits: int() reads them, the parser does not
                "000000000000000000000000000000000000000",
                "amazon2",
                "",
                " ",
            ],
        ),
        (
            PADDING_SCHEMA,
            sides,
            [
                "8%",
                "0.08",
                "40px",
                "40PX",
                "40",
                "1",
                "0",
                "0.49",
                "0.490",
                "0.4900000000000000001",
                "0.5",
                "0.99999999999999999999",
                "49%",
                "49.0%",
                "49.000000000000000001%",
                "50%",
                "0049%",
                "5% 10%",
                "5%,10%",
                " ,5%, ,10%,",
                "1 2 3",
                "1 2 3 4",
                "1 2 3 4 5",
                "8%8%",
                ".5",
                "1.",
                "\u0663",
                "12.5px",
                "",
                ",",
            ],
        ),
    ],
)
def test_layout_schemas_accept_exactly_what_the_parser_accepts(
    schema: dict[str, Any], parse: Any, texts: list[str]
) -> None:
    """Every character alone and around a valid value, and the edges of each rule."""
    ecma = jsonschema_rs.validator_for(schema)
    string = schema["anyOf"][0]
    pattern = re.compile(string["pattern"])
    valid = texts[0]
    assert _parses(parse, valid) and ecma.is_valid(valid)
    texts = [*texts, *(t for c in _text_code_points() for t in (chr(c), f"{chr(c)}{valid}"))]
    for text in texts:
        accepted = _parses(parse, text) and len(text) <= string["maxLength"]
        assert ecma.is_valid(text) == accepted, ascii(text)
        assert (pattern.search(text) is not None and len(text) <= string["maxLength"]) == (
            accepted
        ), ascii(text)


# -- requests, judged by the published schema ----------------------------------------------


def _validator(openapi: dict[str, Any], path: str, content_type: str) -> Any:
    schema = openapi["paths"][path]["post"]["requestBody"]["content"][content_type]["schema"]
    return jsonschema_rs.validator_for({**schema, "components": openapi["components"]})


@pytest.fixture
def stalled(settings: Settings, segmenter: Segmenter, clock: FakeClock) -> Iterator[TestClient]:
    """An app whose workers never run: an accepted order just waits, so accepting is cheap
    (remove.bg's call, which waits for its order, answers 503 at once)."""
    settings.rate_limits.requests = "1000/second"
    settings.removebg.wait_seconds = 0.01
    runtime = build_node(settings, segmenter=segmenter, clock=clock)
    with TestClient(create_app(runtime.api)) as client:
        yield client
    runtime.db.dispose()


GENERATE = "/external/api/v1/background-generator"
PHOTOSHOOT = "/external/api/v1/product-photoshoot"
REMOVE = "/external/api/v1/remove-background"


def test_lightx_bodies_the_schema_allows_are_accepted_and_no_others(stalled: TestClient) -> None:
    key = stalled.app.state.services.keys.create("schema", 1000).secret
    image = upload(stalled, key, jpeg_bytes(subject_photo(64, 48)[0]))
    style = upload(stalled, key, png_bytes(subject_photo(32, 24)[0]), "image/png")
    openapi = stalled.get("/openapi.json").json()
    cases: list[tuple[str, dict[str, Any]]] = [
        (GENERATE, {"textPrompt": "sunset"}),
        (GENERATE, {}),  # LightX requires textPrompt
        (GENERATE, {"textPrompt": None}),
        (GENERATE, {"textPrompt": "   "}),
        (GENERATE, {"textPrompt": " \r\n sunset\tbeach \x1c\x85"}),
        (GENERATE, {"textPrompt": "sunset\rbeach"}),
        (GENERATE, {"textPrompt": "a\u202eb"}),
        (GENERATE, {"textPrompt": "x" * MAX_PROMPT_CHARS}),
        (GENERATE, {"textPrompt": "x" * (MAX_PROMPT_CHARS + 1)}),
        (GENERATE, {"textPrompt": "a", "negativePrompt": "  "}),
        (GENERATE, {"textPrompt": "a", "negativePrompt": "a\x00"}),
        (GENERATE, {"textPrompt": "a", "engine": "studio"}),
        (GENERATE, {"textPrompt": "a", "engine": "dall-e"}),
        (GENERATE, {"textPrompt": "a", "engine": ""}),
        (PHOTOSHOOT, {"textPrompt": "marble"}),
        (PHOTOSHOOT, {"styleImageUrl": style}),
        (PHOTOSHOOT, {}),  # a prompt, a style image or both
        (PHOTOSHOOT, {"styleImageUrl": ""}),
        (PHOTOSHOOT, {"textPrompt": None, "styleImageUrl": None}),
        (PHOTOSHOOT, {"textPrompt": None, "styleImageUrl": style}),
        (PHOTOSHOOT, {"textPrompt": "", "styleImageUrl": style}),
        (REMOVE, {}),
        (REMOVE, {"model": "isnet-general"}),
        (REMOVE, {"model": "nope"}),
        (REMOVE, {"model": ""}),  # the default model here; unknown on a cluster's API node
        (REMOVE, {"background": "Light Blue"}),  # the server is kinder than the enum
        (REMOVE, {"background": "lightblue"}),
        (REMOVE, {"background": " #ABC "}),
        (REMOVE, {"background": "#abcde"}),
        (REMOVE, {"background": "\t"}),
        (REMOVE, {"background": "blurple"}),
        (REMOVE, {"background": "\ufeff"}),
        (REMOVE, {"background": style}),
    ]
    # Accepted, though the schema says no: the schema is the narrower, never the wider.
    lenient = [{"background": "Light Blue"}, {"model": ""}]
    for path, fields in cases:
        body = {"imageUrl": image, **fields}
        valid = _validator(openapi, path, "application/json").is_valid(body)
        response = stalled.post(path, json=body, headers={"x-api-key": key})
        assert response.status_code in (200, 400), (path, fields, response.text)
        if path == REMOVE and fields in lenient:
            assert response.status_code == 200 and not valid, (fields, response.text)
            continue
        assert valid == (response.status_code == 200), (path, fields, valid, response.text)


def _removebg(client: TestClient, key: str, content_type: str, fields: dict[str, Any]) -> Any:
    headers = {"X-Api-Key": key}
    if content_type == "application/json":
        return client.post("/v1.0/removebg", json=fields, headers=headers)
    files = {name: (name, value) for name, value in fields.items() if name.endswith("_file")}
    data = {name: value for name, value in fields.items() if not name.endswith("_file")}
    if content_type == "multipart/form-data":
        # httpx sends a form without files urlencoded; an empty file part forces multipart.
        files = files or {"ignored": ("ignored", b"")}
        return client.post("/v1.0/removebg", data=data, files=files, headers=headers)
    return client.post("/v1.0/removebg", data=data, headers=headers)


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "application/x-www-form-urlencoded", "application/json"]
)
def test_remove_bg_bodies_the_schema_allows_are_not_refused_as_malformed(
    stalled: TestClient, content_type: str
) -> None:
    """Exactly one image, and a colour unless a background image is given."""
    client = stalled
    api_key = client.app.state.services.keys.create("schema", 1000).secret
    openapi = client.get("/openapi.json").json()
    validator = _validator(openapi, "/v1.0/removebg", content_type)
    photo = jpeg_bytes(subject_photo(64, 48)[0])
    own = upload(client, api_key, photo)
    foreign = "http://example.com/a.jpg"
    cases: list[dict[str, Any]] = [
        {"image_url": own},
        {"image_url": own, "image_file_b64": ""},
        {},
        {"image_url": "", "image_file_b64": ""},
        {"image_url": own, "image_file_b64": "QUJD"},
        {"image_url": own, "bg_color": "blurple"},
        {"image_url": own, "bg_color": "81d4fa"},
        {"image_url": own, "bg_color": "blurple", "bg_image_url": foreign},
        {"image_url": own, "crop_margin": "30px"},
        {"image_url": own, "crop_margin": "30%"},
        {"image_url": own, "roi": "0%  0% 100%\t100%"},
        {"image_url": own, "roi": "10% 0% 100% 100%"},
        {"image_url": own, "add_shadow": "false"},
        {"image_url": own, "add_shadow": "true"},
        {"image_url": own, "model": "nope"},
    ]
    if content_type == "multipart/form-data":
        cases += [
            {"image_file": photo},
            {"image_file": photo, "image_url": own},
            {
                "image_file": photo,
                "bg_color": "blurple",
                "bg_image_file": png_bytes(subject_photo(64, 48)[0]),
            },
        ]
    if content_type == "application/json":
        cases += [{"image_url": own, "crop": True}, {"image_url": own, "crop": "true"}]
    for fields in cases:
        judged = {k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in fields.items()}
        valid = validator.is_valid(judged)
        response = _removebg(client, api_key, content_type, fields)
        if valid:
            # The order was made (it waits: 503 naming it); or, for a background URL that
            # is no image of the key, the request is refused for that URL only.
            error = response.json()["errors"][0]
            ordered = response.status_code == 503 and "did not finish" in error["detail"]
            foreign_background = "bg_image_url" in fields and error["code"] == "invalid_image_url"
            assert ordered or foreign_background, (fields, response.text)
        else:
            assert response.status_code == 400, (fields, response.text)
            assert response.json()["errors"][0]["code"] in {
                "invalid_request",
                "invalid_background",
                "unknown_model",
            }, (fields, response.text)
