"""The image fetcher refuses what an attacker would point it at, against real local servers."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backdrop.errors import InvalidImageUrl, PayloadTooLarge
from backdrop.storage.fetch import FetchPolicy, fetch_image, is_public

BODY = b"\x89PNG\r\n\x1a\n" + b"x" * 1000


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(2)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
            return
        body = BODY * 10 if self.path == "/big" else BODY
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _fetch(policy: FetchPolicy, url: str) -> bytes:
    return asyncio.run(fetch_image(policy, url))


def test_a_listed_host_is_fetched_even_on_loopback(origin: str) -> None:
    assert _fetch(FetchPolicy(allowed_hosts=("127.0.0.1",)), f"{origin}/a.png") == BODY


def test_unlisted_and_private_hosts_are_refused(origin: str) -> None:
    with pytest.raises(InvalidImageUrl, match=r"does not fetch images from '127\.0\.0\.1'"):
        _fetch(FetchPolicy(), f"{origin}/a.png")
    # "*" means any public host: loopback, private and cloud-metadata addresses stay refused.
    anywhere = FetchPolicy(allowed_hosts=("*",))
    for url in (f"{origin}/a.png", "http://localhost/a.png", "http://169.254.169.254/latest"):
        with pytest.raises(InvalidImageUrl, match="private or local"):
            _fetch(anywhere, url)
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/a", "http://user:pw@127.0.0.1/a"):
        with pytest.raises(InvalidImageUrl):
            _fetch(FetchPolicy(allowed_hosts=("127.0.0.1",)), url)


def test_redirects_are_checked_hop_by_hop(origin: str) -> None:
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",))
    assert _fetch(policy, f"{origin}/redirect?to=/a.png") == BODY
    with pytest.raises(InvalidImageUrl, match=r"does not fetch images from 'localhost'"):
        _fetch(policy, f"{origin}/redirect?to=http://localhost:1/a.png")
    with pytest.raises(InvalidImageUrl, match=r"redirected more than 0"):
        _fetch(
            FetchPolicy(allowed_hosts=("127.0.0.1",), max_redirects=0), f"{origin}/redirect?to=/a"
        )


def test_size_time_and_status_limits(origin: str) -> None:
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), max_bytes=len(BODY) * 2, timeout_seconds=0.5)
    with pytest.raises(PayloadTooLarge):
        _fetch(policy, f"{origin}/big")
    with pytest.raises(InvalidImageUrl, match=r"within 0.5 s"):
        _fetch(policy, f"{origin}/slow")
    with pytest.raises(InvalidImageUrl, match="HTTP 404"):
        _fetch(policy, f"{origin}/missing")


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("172.16.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
