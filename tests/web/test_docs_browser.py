"""/docs in a real browser: Swagger UI renders the OpenAPI 3.1 document and lists operations."""

from __future__ import annotations

from tests.web.browser import DESKTOP, chromium, screenshot, watch_errors


def test_docs_render_every_operation(base_url: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{base_url}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert {p.replace("\u200b", "") for p in paths} >= {
            "/external/api/v2/uploadImageUrl",
            "/external/api/v1/remove-background",
            "/external/api/v1/background-generator",
            "/external/api/v1/order-status",
            "/v1.0/removebg",
            "/v1.0/account",
            "/health",
        }
        assert page.locator("text=Unable to render this definition").count() == 0
        assert page.locator(".info .title").inner_text().startswith("backdrop")
        # Open the remove.bg operation: its form fields are listed.
        page.locator(".opblock-summary-path", has_text="/v1.0/removebg").click()
        page.wait_for_selector("text=image_file_b64")
        screenshot(page, "docs")
        assert errors == []
        assert all(url.startswith(base_url) for url in requests), requests
