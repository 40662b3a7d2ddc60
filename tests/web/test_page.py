"""The web page at `/`: served from the package, self-contained, and driven in a real browser."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from tests.conftest import jpeg_bytes, subject_photo

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_page_and_assets_are_served_with_a_strict_policy(base_url: str) -> None:
    page = httpx.get(f"{base_url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    texts = [page.text]
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        asset = httpx.get(f"{base_url}/static/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        texts.append(asset.text)
    # Nothing is fetched from outside: no absolute URLs to other hosts in what the page loads.
    for text in texts:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), text[:200]
    missing = httpx.get(f"{base_url}/static/..%2Fapp.py")
    assert missing.status_code == 404 and missing.json()["statusCode"] == 4040


def test_remove_a_background_in_the_browser(base_url: str, api_key: str, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is needed (`.ci/run` installs it from Debian)"
    source = tmp_path / "ball.jpg"
    source.write_bytes(jpeg_bytes(subject_photo()[0]))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base_url}/")
            page.fill("#api-key", api_key)
            page.click("#key-form button")
            page.wait_for_selector("#credits:has-text('10 credits')")
            page.set_input_files("#file", str(source))
            page.click("#run")
            page.wait_for_selector("#result[data-state=done]", timeout=60_000)
            # The result drawn on a canvas: its corners are transparent, its centre opaque.
            alpha = page.evaluate(
                """() => {
                    const image = document.getElementById('after');
                    const canvas = document.createElement('canvas');
                    canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
                    const context = canvas.getContext('2d');
                    context.drawImage(image, 0, 0);
                    const at = (x, y) => context.getImageData(x, y, 1, 1).data[3];
                    return {corner: at(2, 2), centre: at(320, 264),
                            width: canvas.width, height: canvas.height};
                }"""
            )
            assert alpha == {"corner": 0, "centre": 255, "width": 640, "height": 480}
            assert page.is_visible("#dl-cutout") and page.is_visible("#dl-mask")
            assert not page.is_visible("#dl-composite")
            assert page.evaluate("localStorage.getItem('backdrop.apiKey')") == api_key
            page.fill("#slider", "30")
            page.screenshot(path=str(ARTIFACTS / "remove.png"), full_page=True)
            assert errors == []
            # The key stays in the browser across a reload.
            page.reload()
            assert page.input_value("#api-key") == api_key
        finally:
            browser.close()
    assert (ARTIFACTS / "remove.png").stat().st_size > 10_000
