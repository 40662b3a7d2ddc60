"""OpenAPI at /docs: every endpoint documents its success and its errors with examples."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

# Photoroom's shapes: /v2/edit adds the `error` object its OpenAPI documents.
PHOTOROOM = {
    "/v1/segment": {"detail", "status_code", "type"},
    "/v2/edit": {"detail", "status_code", "type", "error"},
}


def test_every_endpoint_has_success_and_error_examples(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    assert {path for path, _, _ in operations} >= {
        "/external/api/v2/uploadImageUrl",
        "/external/api/v1/remove-background",
        "/external/api/v1/background-generator",
        "/external/api/v1/order-status",
        "/external/api/v1/account",
        "/external/api/v1/models",
        "/images/{prefix}/{name}",
        "/health",
        "/v1.0/removebg",
        "/v1.0/account",
        "/v1/segment",
        "/v2/edit",
    }
    assert "/" not in schema["paths"]  # the web page is not part of the API
    for path, method, operation in operations:
        responses: dict[str, Any] = operation["responses"]
        errors = {
            code: r
            for code, r in responses.items()
            if code.isdigit() and int(code) >= 400 and code != "422"
        }
        assert errors, f"{method} {path} documents no error"
        # remove.bg's and Photoroom's routes answer errors in their own shapes, the others in
        # LightX's.
        shape = {"statusCode", "message", "body"}
        if path.startswith("/v1.0/"):
            shape = {"errors"}
        elif path in PHOTOROOM:
            shape = PHOTOROOM[path]
        for code, response in errors.items():
            examples = response["content"]["application/json"]["examples"]
            for example in examples.values():
                value = example["value"]
                assert set(value) == shape, (path, code)
        if path.startswith("/v1.0/"):
            assert "data" in responses["200"]["content"]["application/json"]["example"]
            assert "422" not in responses  # never answered: errors are remove.bg's 400
        elif path in PHOTOROOM:
            assert "image/png" in responses["200"]["content"]
            assert "422" not in responses  # never answered: errors are Photoroom's 400
        elif path.endswith("/product-preview"):
            # The preview is the image itself; only its errors are LightX's envelope.
            assert set(responses["200"]["content"]) == {"image/png", "image/jpeg"}
        elif method != "put" and not path.startswith("/images/"):
            success = responses["200"]["content"]["application/json"]["example"]
            assert success["statusCode"] == 2000, path


def test_docs_page_loads_swagger_from_this_server(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.1")  # what Swagger UI 5 reads (4.x could not)
    page = client.get("/docs").text
    assert "cdn." not in page and "https://" not in page.split("<body>")[0]
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    css = client.get("/docs-assets/swagger-ui.css")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/docs-assets/..%2F__init__.py").status_code == 404
