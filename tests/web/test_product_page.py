"""The page's product photo controls: shadow, canvas and padding shown live as the server
renders them from the finished cutout, checked on what a person sees (pixels and a
screenshot), and the full-size download."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect

from tests.conftest import jpeg_bytes, subject_photo
from tests.web.browser import DESKTOP, broken_images, chromium, screenshot, watch_errors
from tests.web.test_page import RESULT_TIMEOUT, _download, _finished, _open


def _shown(page: Page) -> np.ndarray:
    """The preview as a person sees it: a screenshot of the image element."""
    page.wait_for_selector("#product[data-state=ready]", timeout=RESULT_TIMEOUT)
    page.wait_for_function(
        "() => document.getElementById('product-view').complete"
        " && document.getElementById('product-view').naturalWidth > 0"
    )
    data = page.locator("#product-view").screenshot()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def _next_preview(page: Page, before: str | None) -> None:
    page.wait_for_function(
        "(old) => document.getElementById('product-view').src !== old", arg=before
    )


def test_shadow_and_canvas_preview_is_the_servers_rendering(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    ball = tmp_path / "ball.jpg"
    ball.write_bytes(jpeg_bytes(subject_photo()[0]))
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        _open(page, base_url, api_key)
        page.set_input_files("#file", [str(ball)])
        page.click("#run")
        _finished(page)
        expect(page.locator("#product")).to_be_hidden()  # nothing chosen yet

        page.click("input[name=mode][value=color]")
        page.fill("#color", "#ffffff")
        page.select_option("#canvas", "square-white")
        plain = _shown(page)
        height, width = plain.shape[:2]
        assert abs(height - width) <= 2  # a square canvas
        assert (plain[:8, :8] >= 250).all() and (plain[-8:, -8:] >= 250).all()  # white edges
        # The ball (red-ish) in the middle of the square.
        middle = plain[height // 2, width // 2]
        assert middle[0] > middle[2] + 40

        src = page.get_attribute("#product-view", "src")
        page.select_option("#shadow", "drop")
        _next_preview(page, src)
        shadowed = _shown(page)
        assert shadowed.shape == plain.shape
        darker = (plain.sum(axis=2) - shadowed.sum(axis=2)) > 30
        # A shadow appeared: a patch of the white floor went grey, beside or below the ball.
        assert darker.sum() > 0.003 * darker.size, darker.sum()
        assert (shadowed[:8, :8] >= 250).all()  # far corners still white

        src = page.get_attribute("#product-view", "src")
        page.select_option("#padding", "20%")
        _next_preview(page, src)
        padded = _shown(page)
        rows = np.flatnonzero((np.abs(padded - 255).sum(axis=2) > 60).any(axis=1))
        # 20 % of the canvas is kept clear above the ball.
        assert rows[0] >= 0.19 * padded.shape[0]
        screenshot(page, "product-preview-desktop")

        name, data = _download(page, "#product-download")
        full = Image.open(io.BytesIO(data))
        assert name == "ball.product.jpg" and full.size == (2000, 2000)
        assert broken_images(page) == [] and errors == []
        page.close()
