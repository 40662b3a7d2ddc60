"""What a new user met on the page, each held in a real browser: qualities the server can run,
phone photos over the upload limit, files that are not images, zip dates, several previews,
results kept across a reload."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect

from tests.conftest import jpeg_bytes, subject_photo
from tests.web.browser import DESKTOP, PHONE, broken_images, chromium, screenshot, watch_errors
from tests.web.test_page import _assert_looks_right, _finished, _open, _pixels

LIMIT = 5 * 1024 * 1024
X = "\u00d7"  # the page writes sizes with the multiplication sign: 4032 X 3024


def _small_ball(tmp_path: Path) -> Path:
    path = tmp_path / "ball.jpg"
    path.write_bytes(jpeg_bytes(subject_photo(480, 360)[0]))
    return path


def test_every_quality_offered_is_installed_and_gives_a_result(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    listing = httpx.get(
        f"{base_url}/external/api/v1/models", headers={"x-api-key": api_key}
    ).json()["body"]
    ball = _small_ball(tmp_path)
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        _open(page, base_url, api_key)
        expected = [("Balanced", "")] + [
            (label, listing["qualities"][quality])
            for quality, label in (("best", f"Best (about 2{X} the time)"), ("fast", "Fast"))
            if quality in listing["qualities"]
        ]
        options = page.locator("#quality option")
        expect(options).to_have_count(len(expected))
        offered = [
            (options.nth(i).inner_text(), options.nth(i).get_attribute("value"))
            for i in range(options.count())
        ]
        assert offered == expected
        # Where `make run`'s models are installed, Best is the mirror model, not multiscale.
        assert (f"Best (about 2{X} the time)", "isnet-general-mirror") in offered
        for label, value in offered:
            assert value == "" or value in listing["installed"]
            page.set_input_files("#file", str(ball))
            page.select_option("#quality", value)
            page.click("#run")
            _finished(page)
            expect(page.locator("#after")).to_be_visible()
            shown = _pixels(page, "#after", [(2, 2), (240, 180)])
            assert (shown["width"], shown["height"]) == (480, 360), label
            assert shown["at"][0][3] == 0 and shown["at"][1][3] == 255, label
        _assert_looks_right(page, errors, DESKTOP["width"])


def _phone_photo(path: Path, grain: int) -> Path:
    """A 4032x3024 JPEG over 5 MB, as a phone saves it: fine grain (±`grain`) adds the bytes."""
    photo = np.asarray(subject_photo(4032, 3024)[0].convert("RGB"), dtype=np.int16)
    noise = np.random.default_rng(7).integers(-grain, grain + 1, size=photo.shape, dtype=np.int16)
    image = Image.fromarray(np.clip(photo + noise, 0, 255).astype(np.uint8))
    image.save(path, "JPEG", quality=95)
    return path


def _picked_and_run(page: Page, photo: Path, says: str) -> tuple[str, dict[str, Any]]:
    page.set_input_files("#file", str(photo))
    picked = page.locator("#picked")
    expect(picked).to_contain_text(says, timeout=60_000)
    expect(picked).to_contain_text("(JPEG quality 90%")
    expect(picked).to_contain_text("to fit the 5 MB limit")
    expect(page.locator("#preview")).to_be_visible()
    page.click("#run")
    _finished(page)
    return picked.inner_text(), _pixels(page, "#after", [(2, 2)])


def test_a_phone_photo_over_the_limit_is_shrunk_in_the_page_and_says_so(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    # The user's photo: 5.3 MB. Re-encoded at quality 0.9 it fits at its full size.
    photo = _phone_photo(tmp_path / "IMG_0001.jpg", grain=14)
    assert LIMIT < photo.stat().st_size < 5.6 * 1024 * 1024
    # A grainier one fits only smaller.
    grainy = _phone_photo(tmp_path / "IMG_0002.jpg", grain=40)
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        errors = watch_errors(page)
        _open(page, base_url, api_key)
        text, shown = _picked_and_run(page, photo, "re-encoded from 5.3 MB to ")
        assert f"still 4032{X}3024" in text, text
        assert (shown["width"], shown["height"]) == (4032, 3024)
        screenshot(page, "phone-photo-reencoded-phone")
        text, shown = _picked_and_run(page, grainy, f"resized from 4032{X}3024 to ")
        width, height = (int(n) for n in text.split(" to ")[1].split(" ")[0].split(X))
        # The aspect ratio is kept; the largest that fits, so not much smaller than the photo.
        assert abs(width / height - 4032 / 3024) < 0.01 and 2000 < width < 4032, text
        assert (shown["width"], shown["height"]) == (width, height)
        screenshot(page, "phone-photo-resized-phone")
        _assert_looks_right(page, errors, PHONE["width"])


def test_a_text_file_renamed_jpg_is_refused_before_upload(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("hello, this is not a photo\n")
    ball = _small_ball(tmp_path)
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        _open(page, base_url, api_key)
        page.set_input_files("#file", str(notes))
        message = page.locator("#message")
        expect(message).to_have_text(
            "Not an image this browser can open (damaged, or another kind of file renamed): "
            "notes.jpg"
        )
        expect(message).to_have_class("error")
        expect(page.locator("#preview")).to_be_hidden()
        expect(page.locator("#drop-hint")).to_be_visible()
        expect(page.locator("#run")).to_be_disabled()
        assert broken_images(page) == []
        screenshot(page, "not-an-image-desktop")
        # With a real photo beside it, the photo is taken and the text file is not.
        page.set_input_files("#file", [str(notes), str(ball)])
        expect(page.locator("#picked")).to_contain_text(f"ball.jpg · 480{X}360")
        expect(page.locator("#run")).to_have_text("Remove background")
        expect(message).to_contain_text("notes.jpg")
        _assert_looks_right(page, errors, DESKTOP["width"])


def test_zip_entries_carry_the_date_and_time_they_were_made(base_url: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        page.goto(f"{base_url}/")
        encoded: str = page.evaluate(
            """async () => {
                const zip = makeZip([{name: 'a.png', bytes: new Uint8Array([1, 2, 3])}],
                                    new Date(2024, 4, 17, 13, 45, 31));
                const bytes = new Uint8Array(await zip.arrayBuffer());
                return btoa(String.fromCharCode(...bytes));
            }"""
        )
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded))) as archive:
        assert archive.testzip() is None
        (info,) = archive.infolist()
        assert info.date_time == (2024, 5, 17, 13, 45, 30)  # DOS time counts 2-second steps
        assert archive.read("a.png") == b"\x01\x02\x03"


def _drop(page: Page, names: list[str]) -> None:
    page.evaluate(
        """(names) => {
            const canvas = document.createElement('canvas');
            canvas.width = 64; canvas.height = 48;
            const context = canvas.getContext('2d');
            const transfer = new DataTransfer();
            names.forEach((name, index) => {
                context.fillStyle = ['#d33', '#3a3', '#36d'][index % 3];
                context.fillRect(0, 0, 64, 48);
                const data = atob(canvas.toDataURL('image/png').split(',')[1]);
                const bytes = Uint8Array.from(data, (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], name, {type: 'image/png'}));
            });
            document.getElementById('drop').dispatchEvent(
                new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
        }""",
        names,
    )


def test_each_dropped_photo_has_a_preview(base_url: str, api_key: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        _open(page, base_url, api_key)
        _drop(page, ["red.png", "green.png", "blue.png"])
        thumbs = page.locator("#thumbs button")
        expect(thumbs).to_have_count(3)
        expect(page.locator("#thumbs")).to_be_visible()
        colours = []
        for index in range(3):
            thumbs.nth(index).click()
            expect(thumbs.nth(index)).to_have_attribute("aria-pressed", "true")
            expect(page.locator("#preview")).to_have_attribute(
                "alt", ["red.png", "green.png", "blue.png"][index]
            )
            colours.append(_pixels(page, "#preview", [(10, 10)])["at"][0][:3])
        assert colours == [[221, 51, 51], [51, 170, 51], [51, 102, 221]]
        screenshot(page, "three-dropped-desktop")
        _assert_looks_right(page, errors, DESKTOP["width"])
        # One image: its preview alone, no strip.
        _drop(page, ["one.png"])
        expect(page.locator("#thumbs")).to_be_hidden()
        expect(page.locator("#preview")).to_be_visible()


def test_results_are_kept_across_a_reload_until_they_expire(
    base_url: str, api_key: str, tmp_path: Path
) -> None:
    ball = _small_ball(tmp_path)
    other = tmp_path / "other ball.jpg"
    other.write_bytes(ball.read_bytes())
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_errors(page)
        _open(page, base_url, api_key)
        page.set_input_files("#file", [str(ball), str(other)])
        page.click("#run")
        _finished(page)
        links = [
            page.locator("#results li").nth(i).locator("text=Result").get_attribute("href")
            for i in range(2)
        ]
        page.reload()
        rows = page.locator("#results li")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("ball.jpg")
        expect(rows.nth(1)).to_contain_text("other ball.jpg")
        expect(rows.nth(0)).to_contain_text("0.5 credits · balance after: 9.5")
        assert [rows.nth(i).locator("text=Result").get_attribute("href") for i in range(2)] == links
        expect(page.locator("#message")).to_contain_text("2 earlier results, kept in this browser")
        expect(page.locator("#compare")).to_be_visible()
        shown = _pixels(page, "#after", [(2, 2), (240, 180)])
        assert shown["at"][0][3] == 0 and shown["at"][1][3] == 255
        expect(page.locator("#dl-zip")).to_be_visible()
        expect(page.locator("#run")).to_be_disabled()  # nothing picked: nothing to run again
        saved = page.evaluate("JSON.parse(localStorage.getItem('backdrop.results'))")
        assert [entry["orderId"] for entry in saved] and all(e["orderId"] for e in saved)
        screenshot(page, "restored-desktop")
        _assert_looks_right(page, errors, DESKTOP["width"])
        # Past their 24 hours, they are dropped.
        page.evaluate(
            """() => {
                const saved = JSON.parse(localStorage.getItem('backdrop.results'));
                saved.forEach((entry) => { entry.expiresAt = Date.now() - 1000; });
                localStorage.setItem('backdrop.results', JSON.stringify(saved));
            }"""
        )
        page.reload()
        expect(page.locator("#credits")).to_contain_text("credits")
        expect(page.locator("#result")).to_be_hidden()
        assert page.evaluate("localStorage.getItem('backdrop.results')") is None
