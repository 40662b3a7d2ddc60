"""remove.bg's published clients and curl, changed only in their endpoint, against backdrop.

The PyPI `removebg` package and the npm `remove.bg` package each keep the endpoint in one
module constant; the tests point it at a real HTTP server running backdrop and nothing else.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from backdrop.serving.node import EmbeddedNode
from backdrop.settings import Settings
from tests.conftest import jpeg_bytes, subject_photo

NODE_MODULES = Path(__file__).resolve().parents[1] / ".test-node" / "node_modules"
PHOTO = jpeg_bytes(subject_photo()[0])


@pytest.fixture
def settings(tmp_path: Path, image_host: str) -> Settings:
    # The operator allows one image host, a server on this machine (so listed by name), with
    # its port: an entry without one allows only 80 and 443.
    host = urlsplit(image_host).netloc
    return Settings(data_dir=tmp_path / "data", fetch={"allowed_hosts": [host]})


@pytest.fixture
def image_host() -> Iterator[str]:
    """Another web server, holding photo.jpg, as a shop's image CDN would."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(PHOTO)))
            self.end_headers()
            self.wfile.write(PHOTO)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/photo.jpg"
    server.shutdown()


def _cutout(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGBA", image.mode
    return np.asarray(image)


def test_pypi_removebg_client(
    base_url: str,
    image_host: str,
    runtime: EmbeddedNode,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import removebg.removebg

    monkeypatch.setattr(removebg.removebg, "API_ENDPOINT", f"{base_url}/v1.0/removebg")
    key = runtime.keys.create("pypi", 5).secret
    client = removebg.RemoveBg(key, str(tmp_path / "error.log"))
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(PHOTO)
    client.remove_background_from_img_file(str(photo))
    cutout = _cutout((tmp_path / "photo.jpg_no_bg.png").read_bytes())
    assert cutout.shape == (433, 577, 4)  # "regular": 0.25 megapixels
    assert cutout[2, 2, 3] == 0 and cutout[238, 288, 3] == 255
    monkeypatch.chdir(tmp_path)
    client.remove_background_from_img_url(image_host, size="full", new_file_name="url.png")
    assert _cutout((tmp_path / "url.png").read_bytes()).shape == (480, 640, 4)
    assert runtime.keys.get(runtime.keys.authenticate(key).id).credits == 4.0


def test_curl_multipart_as_remove_bg_documents_it(
    base_url: str, runtime: EmbeddedNode, tmp_path: Path
) -> None:
    curl = shutil.which("curl")
    assert curl, "curl is needed"
    key = runtime.keys.create("curl", 1).secret
    (tmp_path / "photo.jpg").write_bytes(PHOTO)
    run = subprocess.run(
        [curl, "-sS", "-H", f"X-Api-Key: {key}", "-F", "image_file=@photo.jpg",
         "-F", "size=auto", "-o", "no-bg.png", "-D", "headers.txt", f"{base_url}/v1.0/removebg"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    headers = (tmp_path / "headers.txt").read_text().lower()
    assert "200 ok" in headers and "x-credits-charged: 0.5" in headers
    assert _cutout((tmp_path / "no-bg.png").read_bytes()).shape == (480, 640, 4)


def _node_client(module: Path, *args: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "Node.js is needed for this test (it is on the project's machines)"
    script = Path(__file__).parent / "clients" / "removebg_client.cjs"
    return subprocess.run(
        [node, str(script), str(module), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"NODE_PATH": str(NODE_MODULES), "PATH": "/usr/bin:/bin"},
    )


def test_npm_remove_bg_client(
    base_url: str, image_host: str, runtime: EmbeddedNode, tmp_path: Path
) -> None:
    package = NODE_MODULES / "remove.bg"
    # The registry's 1.3.0 tarball has been seen with its build at the root and under dist/.
    found = [p for p in (package / "dist" / "index.js", package / "index.js") if p.is_file()]
    assert found, "run `make node-clients` (make test does) to install remove.bg"
    original = found[0]
    source = original.read_text()
    constant = 'const API_ENDPOINT = "https://api.remove.bg/v1.0/removebg";'
    assert constant in source
    module = tmp_path / "remove_bg_local.js"
    module.write_text(source.replace(constant, f'const API_ENDPOINT = "{base_url}/v1.0/removebg";'))
    key = runtime.keys.create("npm", 1.5).secret
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(PHOTO)

    run = _node_client(module, "file", key, str(photo), str(tmp_path / "file.png"))
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout)
    assert result["creditsCharged"] == "0.5" and result["detectedType"] == "other"
    assert (result["resultWidth"], result["resultHeight"]) == ("577", "433")
    assert _cutout((tmp_path / "file.png").read_bytes()).shape == (433, 577, 4)

    run = _node_client(module, "base64", key, str(photo), str(tmp_path / "red.jpg"))
    assert run.returncode == 0, run.stdout + run.stderr
    red = np.asarray(Image.open(tmp_path / "red.jpg").convert("RGB"))
    assert red[2, 2, 0] > 200 and red[2, 2, 1] < 40

    run = _node_client(module, "url", key, image_host, str(tmp_path / "crop.png"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert abs(_cutout((tmp_path / "crop.png").read_bytes()).shape[1] - 288) <= 8

    # Out of credits (1.5 - 3 x 0.5): the client rejects with remove.bg's error list.
    run = _node_client(module, "file", key, str(photo), str(tmp_path / "no.png"))
    assert run.returncode == 1
    assert json.loads(run.stdout)["errors"][0]["code"] == "insufficient_credits"


def test_npm_remove_bg_client_layout_and_shadow(
    base_url: str, runtime: EmbeddedNode, tmp_path: Path
) -> None:
    package = NODE_MODULES / "remove.bg"
    found = [p for p in (package / "dist" / "index.js", package / "index.js") if p.is_file()]
    assert found, "run `make node-clients` (make test does) to install remove.bg"
    constant = 'const API_ENDPOINT = "https://api.remove.bg/v1.0/removebg";'
    module = tmp_path / "remove_bg_local.js"
    module.write_text(
        found[0].read_text().replace(constant, f'const API_ENDPOINT = "{base_url}/v1.0/removebg";')
    )
    key = runtime.keys.create("npm-layout", 5).secret
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(PHOTO)

    run = _node_client(module, "placed", key, str(photo), str(tmp_path / "placed.png"))
    assert run.returncode == 0, run.stdout + run.stderr
    placed = _cutout((tmp_path / "placed.png").read_bytes())
    assert placed.shape == (433, 577, 4)
    solid = np.argwhere(placed[..., 3] == 255)
    # scale 50 % of what fits, at the bottom-left corner (position 0% 100%).
    assert solid[:, 1].min() <= 3 and solid[:, 0].max() >= 425
    assert abs((solid[:, 0].max() - solid[:, 0].min()) - 433 / 2) <= 8

    run = _node_client(module, "margin", key, str(photo), str(tmp_path / "margin.png"))
    assert run.returncode == 0, run.stdout + run.stderr
    height, width = _cutout((tmp_path / "margin.png").read_bytes()).shape[:2]
    # The ball cropped with 10 % of its height above and below and nothing at the sides.
    assert abs(height - 1.2 * width) <= 6
