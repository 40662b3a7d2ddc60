"""/docs in a real browser: Swagger UI renders the OpenAPI 3.1 document and lists operations."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page

from tests.conftest import jpeg_bytes, subject_photo
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


def _operation(page: Page, path: str) -> Locator:
    return page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text=path))


def _try_it_out(operation: Locator) -> str:
    """Execute the operation as a person would, and read the status Swagger shows."""
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=60_000)
    return status.inner_text().strip()


def test_try_it_out_works_with_the_authorize_button(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    """The key is typed once (Authorize), operations are grouped by API, and "Try it out"
    sends what it shows: an upload URL as the example stands, a photo through remove.bg."""
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(subject_photo(320, 240)[0]))
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        page.goto(f"{base_url}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        groups = page.locator(".opblock-tag-section h3 .nostyle span").all_inner_texts()
        assert groups[:5] == ["LightX", "remove.bg", "Photoroom", "Account", "Health"]
        page.locator("button.authorize").first.click()
        page.locator(".modal-ux input[type=text]").fill(api_key)
        page.locator(".modal-ux button.authorize").click()
        page.locator(".modal-ux button.close-modal").click()

        upload = _operation(page, "/external/api/v2/uploadImageUrl")
        upload.locator(".opblock-summary").click()
        upload.locator("button.try-out__btn").click()
        assert _try_it_out(upload) == "200"

        removebg = _operation(page, "/v1.0/removebg")
        removebg.locator(".opblock-summary").click()
        removebg.locator("button.try-out__btn").click()
        removebg.locator("input[type=file]").first.set_input_files(str(photo))
        assert _try_it_out(removebg) == "200", removebg.locator(
            ".live-responses-table"
        ).inner_text()
        assert "image/png" in removebg.locator(".live-responses-table").inner_text()
        screenshot(page, "docs-try-it-out")
        assert errors == []
