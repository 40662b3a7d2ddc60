"""The web page at `/`, driven in a real browser as a person uses it, at desktop and phone size.

Every mode and control is used; what is checked is what a person would see: visible
elements, image sizes and pixels, file names of downloads, no broken images, no console
errors, nothing wider than the screen. Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from backdrop.serving.node import EmbeddedNode
from tests.conftest import jpeg_bytes, png_bytes, subject_photo
from tests.web.browser import (
    DESKTOP,
    PHONE,
    broken_images,
    chromium,
    page_width,
    screenshot,
    watch_errors,
)

RESULT_TIMEOUT = 120_000


def test_page_and_assets_are_served_with_a_strict_policy(base_url: str) -> None:
    page = httpx.get(f"{base_url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    texts = [page.text]
    for name, kind in (
        ("app.js", "text/javascript"),
        ("touchup.js", "text/javascript"),
        ("zip.js", "text/javascript"),
        ("style.css", "text/css"),
    ):
        asset = httpx.get(f"{base_url}/static/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        texts.append(asset.text)
    # Nothing is fetched from outside: no absolute URLs to other hosts in what the page loads.
    for text in texts:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), text[:200]
    missing = httpx.get(f"{base_url}/static/..%2Fapp.py")
    assert missing.status_code == 404 and missing.json()["statusCode"] == 4040


def _photos(tmp_path: Path) -> tuple[Path, Path]:
    ball = tmp_path / "ball.jpg"
    ball.write_bytes(jpeg_bytes(subject_photo()[0]))
    small = tmp_path / "small ball.png"
    small.write_bytes(png_bytes(subject_photo(480, 360)[0]))
    return ball, small


def _open(page: Page, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/")
    page.fill("#api-key", key)
    page.click("#key-form button")
    expect(page.locator("#credits")).to_contain_text("credits")


def _pixels(page: Page, selector: str, points: list[tuple[int, int]]) -> dict[str, Any]:
    """Size of the image shown at `selector` and its RGBA at `points`, read in the page."""
    result: dict[str, Any] = page.evaluate(
        """([selector, points]) => {
            const image = document.querySelector(selector);
            const canvas = document.createElement('canvas');
            canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
            const context = canvas.getContext('2d');
            context.drawImage(image, 0, 0);
            return {width: canvas.width, height: canvas.height,
                    at: points.map(([x, y]) => [...context.getImageData(x, y, 1, 1).data])};
        }""",
        [selector, points],
    )
    return result


def _download(page: Page, locator: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.locator(locator).first.click()
    download = info.value
    path = download.path()
    return download.suggested_filename, Path(path).read_bytes()


def _finished(page: Page, expected: str = "done") -> None:
    """Wait until the run ends; on an unexpected end, fail with what the page said."""
    page.wait_for_selector(
        "#result[data-state=done], #result[data-state=error]", timeout=RESULT_TIMEOUT
    )
    state = page.get_attribute("#result", "data-state")
    assert state == expected, page.inner_text("#message") + " | " + page.inner_text("#results")


def _assert_looks_right(page: Page, errors: list[str], width: int) -> None:
    assert broken_images(page) == []
    assert errors == []
    assert page_width(page) <= width, f"the page is {page_width(page)} px wide"


def test_first_look_shows_nothing_that_does_not_work(base_url: str, api_key: str) -> None:
    with chromium() as browser:
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page = browser.new_page(viewport=viewport)
            errors = watch_errors(page)
            page.goto(f"{base_url}/")
            expect(page.locator("#credits")).to_have_text(
                "Enter your key once; it stays in this browser."
            )
            # No result panel, no dead buttons, no broken image before the first use.
            for hidden in ("#result", "#compare", "#dl-zip", "#preview", "#touchup"):
                expect(page.locator(hidden)).to_be_hidden()
            expect(page.locator("#run")).to_be_disabled()
            expect(page.locator("#drop-hint")).to_be_visible()
            # Prompt options only in prompt mode.
            expect(page.locator("#seed")).to_be_hidden()
            expect(page.locator("#quality")).to_be_visible()
            box = page.locator("#key-form").bounding_box()
            assert box is not None and box["x"] + box["width"] <= viewport["width"]
            screenshot(page, f"first-look-{name}")
            _assert_looks_right(page, errors, viewport["width"])
            page.close()


def test_several_images_transparent_with_options_zip_and_touch_up(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    ball, small = _photos(tmp_path)
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        _open(page, base_url, api_key)
        expect(page.locator("#credits")).to_have_text("10 credits")
        page.set_input_files("#file", [str(ball), str(small)])
        expect(page.locator("#picked")).to_contain_text("2 images: ball.jpg, small ball.png")
        expect(page.locator("#cost")).to_have_text("Costs 1 credit (0.5 per image).")
        expect(page.locator("#run")).to_have_text("Remove background · 2 images")
        page.select_option("#size", "preview")
        page.select_option("#quality", "")
        page.click("#run")
        _finished(page)
        rows = page.locator("#results li")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("0.5 credits · balance after: 9.5")
        expect(rows.nth(1)).to_contain_text("0.5 credits · balance after: 9")
        expect(page.locator("#credits")).to_have_text("9 credits")
        # The first result is shown: transparent around the ball, preview size (625 px).
        shown = _pixels(page, "#after", [(2, 2), (312, 257)])
        assert (shown["width"], shown["height"]) == (625, 469)
        assert shown["at"][0][3] == 0 and shown["at"][1][3] == 255
        name, data = _download(page, "#results li >> nth=0 >> text=Result")
        assert name == "ball.png" and data[:4] == b"\x89PNG"
        name, data = _download(page, "#results li >> nth=1 >> text=Mask")
        assert name == "small ball.mask.png"
        name, data = _download(page, "#dl-zip")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert name == "backdrop-results.zip" and archive.testzip() is None
            assert sorted(archive.namelist()) == [
                "ball.mask.png", "ball.png", "small ball.mask.png", "small ball.png",
            ]  # fmt: skip
            # Dated when it was made (DOS time: local, 2-second steps), not 1980-00-00.
            for info in archive.infolist():
                assert abs(datetime(*info.date_time) - datetime.now()) < timedelta(minutes=10)
        screenshot(page, "transparent-two-images-desktop")

        # Touch up the first: erase the ball's centre, save, download the corrected cutout.
        page.locator("#results li >> nth=0 >> text=Touch up").click()
        expect(page.locator("#touchup")).to_be_visible()
        expect(page.locator("#compare")).to_be_hidden()
        canvas = page.locator("#touchup-canvas").bounding_box()
        assert canvas is not None and canvas["width"] > 300
        centre_x = canvas["x"] + canvas["width"] * 312 / 625
        centre_y = canvas["y"] + canvas["height"] * 257 / 469
        page.mouse.move(centre_x - 10, centre_y)
        page.mouse.down()
        page.mouse.move(centre_x + 10, centre_y, steps=5)
        page.mouse.up()
        screenshot(page, "touch-up-desktop")
        server_src = page.get_attribute("#after", "src")
        page.click("#touchup-save")
        expect(page.locator("#compare")).to_be_visible()
        expect(page.locator("#after")).not_to_have_attribute("src", server_src or "")
        name, data = _download(page, "#results li >> nth=0 >> text=Touched-up")
        assert name == "ball.touched-up.png"
        erased = _pixels(page, "#after", [(312, 257), (312, 330)])
        assert erased["at"][0][3] == 0 and erased["at"][1][3] == 255  # only where brushed
        # Restore brings the original's pixels back where brushed.
        page.locator("#results li >> nth=0 >> text=Touch up").click()
        expect(page.locator("#touchup")).to_be_visible()
        page.check("input[name=brush][value=restore]")
        page.fill("#brush-size", "60")
        page.mouse.move(centre_x - 10, centre_y)
        page.mouse.down()
        page.mouse.move(centre_x + 10, centre_y, steps=5)
        page.mouse.up()
        before_save = page.get_attribute("#after", "src")
        page.click("#touchup-save")
        expect(page.locator("#compare")).to_be_visible()
        expect(page.locator("#after")).not_to_have_attribute("src", before_save or "")
        restored = _pixels(page, "#after", [(312, 257)])
        assert restored["at"][0][3] == 255 and restored["at"][0][0] > 100  # opaque orange
        _assert_looks_right(page, errors, DESKTOP["width"])

        # A new pick clears the old results.
        page.set_input_files("#file", str(ball))
        expect(page.locator("#result")).to_be_hidden()
        expect(page.locator("#cost")).to_have_text("Costs 0.5 credits (0.5 per image).")
        assert page.evaluate("localStorage.getItem('backdrop.apiKey')") == api_key
        page.reload()
        assert page.input_value("#api-key") == api_key


def test_colour_image_and_prompt_modes_on_a_phone(
    base_url: str, runtime: EmbeddedNode, tmp_path: Path
) -> None:
    ball, _ = _photos(tmp_path)
    backdrop = tmp_path / "black.png"
    backdrop.write_bytes(png_bytes(subject_photo()[0].point(lambda _: 0).convert("RGB")))
    key = runtime.keys.create("phone", 2.5).secret
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        errors = watch_errors(page)
        _open(page, base_url, key)
        page.set_input_files("#file", str(ball))
        expect(page.locator("#preview")).to_be_visible()

        # Colour, cropped with a margin, as JPEG.
        page.check("input[name=mode][value=color]")
        page.fill("#color", "#ff0000")
        page.select_option("#format", "jpg")
        page.check("#crop")
        expect(page.locator("#crop-margin")).to_be_visible()
        page.fill("#crop-margin", "20")
        page.click("#run")
        _finished(page)
        red = _pixels(page, "#after", [(2, 2)])
        assert abs(red["width"] - 328) <= 8 and red["at"][0][0] > 200 and red["at"][0][1] < 40
        name, data = _download(page, "#results li >> text=Result")
        assert name == "ball.jpg" and data[:3] == b"\xff\xd8\xff"  # the server's file as it is
        expect(page.locator("#results li >> text=Touch up")).to_have_count(0)
        # Cropped, the result no longer lines up with the original: shown alone, no slider.
        expect(page.locator("#before")).to_be_hidden()
        expect(page.locator("#slider")).to_be_hidden()
        screenshot(page, "colour-phone")
        _assert_looks_right(page, errors, PHONE["width"])

        # Background image.
        page.uncheck("#crop")
        page.select_option("#format", "png")
        page.check("input[name=mode][value=image]")
        expect(page.locator("#run")).to_be_disabled()
        expect(page.locator("#cost")).to_have_text("Pick a background image first.")
        page.set_input_files("#bg-file", str(backdrop))
        page.click("#run")
        _finished(page)
        black = _pixels(page, "#after", [(2, 2)])
        assert black["width"] == 640 and max(black["at"][0][:3]) < 20

        # Prompt: an empty one is refused in the page, before anything is charged.
        page.check("input[name=mode][value=prompt]")
        expect(page.locator("#seed")).to_be_visible()
        expect(page.locator("#quality")).to_be_hidden()
        expect(page.locator("#run")).to_be_disabled()
        expect(page.locator("#cost")).to_have_text("Write a prompt first.")
        page.fill("#prompt", "marble table, soft window light")
        page.fill("#seed", "7")
        expect(page.locator("#cost")).to_have_text("Costs 1 credit (1 per image).")
        page.click("#run")
        _finished(page)
        expect(page.locator("#results li")).to_contain_text("1 credit · balance after: 0.5")
        name, data = _download(page, "#results li >> text=Result")
        assert name == "ball.jpg"
        screenshot(page, "prompt-phone")
        _assert_looks_right(page, errors, PHONE["width"])

        # Not enough credits left: the error is shown and no old result stays on screen.
        page.click("#run")
        _finished(page, "error")
        expect(page.locator("#message")).to_contain_text("API_CREDITS_CONSUMED")
        expect(page.locator("#compare")).to_be_hidden()
        expect(page.locator("#results li .error")).to_be_visible()
        screenshot(page, "error-phone")
        assert broken_images(page) == []
        assert page_width(page) <= PHONE["width"]


def test_dropping_several_files_takes_them_all(base_url: str, api_key: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        _open(page, base_url, api_key)
        # A drop of two images and a text file, as a person drags them from a folder.
        page.evaluate(
            """() => {
                const transfer = new DataTransfer();
                const png = Uint8Array.from(atob(
                    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII='
                ), (c) => c.charCodeAt(0));
                transfer.items.add(new File([png], 'one.png', {type: 'image/png'}));
                transfer.items.add(new File([png], 'two.png', {type: 'image/png'}));
                transfer.items.add(new File(['hello'], 'notes.txt', {type: 'text/plain'}));
                document.getElementById('drop').dispatchEvent(
                    new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
            }"""
        )
        expect(page.locator("#picked")).to_have_text("2 images: one.png, two.png")
        expect(page.locator("#message")).to_have_text("Not a JPEG, PNG or WebP image: notes.txt")
        expect(page.locator("#run")).to_have_text("Remove background · 2 images")
        expect(page.locator("#preview")).to_be_visible()
        expect(page.locator("#result")).to_be_hidden()
        _assert_looks_right(page, errors, DESKTOP["width"])
