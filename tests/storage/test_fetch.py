"""The image fetcher refuses what an attacker would point it at, against real local servers."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from backdrop.errors import InvalidImageUrl, PayloadTooLarge
from backdrop.settings import FetchSettings
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


def _listed(origin: str, **limits: Any) -> FetchPolicy:
    """A policy that names the origin's host with its port (the test server's is not 80)."""
    return FetchPolicy(allowed_hosts=(urlsplit(origin).netloc,), **limits)


def test_a_listed_host_is_fetched_even_on_loopback(origin: str) -> None:
    assert _fetch(_listed(origin), f"{origin}/a.png") == BODY


def test_unlisted_and_private_hosts_are_refused(origin: str) -> None:
    with pytest.raises(InvalidImageUrl, match=r"does not fetch images from '127\.0\.0\.1'"):
        _fetch(FetchPolicy(), f"{origin}/a.png")
    # "*" means any public host: loopback, private and cloud-metadata addresses stay refused.
    anywhere = FetchPolicy(allowed_hosts=("*", f"*:{urlsplit(origin).port}"))
    for url in (f"{origin}/a.png", "http://localhost/a.png", "http://169.254.169.254/latest"):
        with pytest.raises(InvalidImageUrl, match="private or local"):
            _fetch(anywhere, url)
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/a", "http://user:pw@127.0.0.1/a"):
        with pytest.raises(InvalidImageUrl):
            _fetch(_listed(origin), url)


def test_redirects_are_checked_hop_by_hop(origin: str) -> None:
    policy = _listed(origin)
    assert _fetch(policy, f"{origin}/redirect?to=/a.png") == BODY
    with pytest.raises(InvalidImageUrl, match=r"does not fetch images from 'localhost'"):
        _fetch(policy, f"{origin}/redirect?to=http://localhost:1/a.png")
    with pytest.raises(InvalidImageUrl, match=r"redirected more than 0"):
        _fetch(_listed(origin, max_redirects=0), f"{origin}/redirect?to=/a")


def test_size_time_and_status_limits(origin: str) -> None:
    policy = _listed(origin, max_bytes=len(BODY) * 2, timeout_seconds=0.5)
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
        # IETF protocol assignments (192.0.0.8 is "global" to Python 3.11).
        ("192.0.0.8", False),
        ("198.18.0.1", False),
        ("240.0.0.1", False),
        # IPv4-mapped: the IPv4 decides.
        ("::ffff:8.8.8.8", True),
        # IPv4-compatible (deprecated): never routed.
        ("::127.0.0.1", False),
        ("::8.8.8.8", False),
        # SIIT (::ffff:0:0:0/96).
        ("::ffff:0:7f00:1", False),
        ("::ffff:0:a00:1", False),
        # NAT64: the well-known prefix reaches the IPv4 it carries; the local-use one is private.
        ("64:ff9b::a00:1", False),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b:1::a00:1", False),
        ("64:ff9b:1::808:808", False),
        # 6to4: the IPv4 after 2002: is the relay's destination.
        ("2002:7f00:1::", False),
        ("2002:a00:1::1", False),
        ("2002:808:808::1", True),
        # Teredo (server 65.54.227.120, client 192.0.2.45) and the rest of 2001::/23.
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("2001::1", False),
        ("2001:db8::1", False),
        ("100::1", False),
        ("fe80::1", False),
        ("ff02::1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]/a.png",
        "http://[64:ff9b::a00:1]/a.png",
        "http://[::ffff:0:7f00:1]/a.png",
        "http://[2002:7f00:1::]/a.png",
        "http://192.0.0.8/a.png",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/a.png",
    ],
)
def test_ipv4_carried_in_ipv6_is_refused_before_any_connection(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(httpx.AsyncClient, "send", no_connection)
    with pytest.raises(InvalidImageUrl, match="private or local"):
        _fetch(FetchPolicy(allowed_hosts=("*",)), url)


def test_an_entry_without_a_port_allows_only_80_and_443(origin: str) -> None:
    port = urlsplit(origin).port
    with pytest.raises(
        InvalidImageUrl, match=rf"does not fetch images from '127\.0\.0\.1' on port {port}"
    ):
        _fetch(FetchPolicy(allowed_hosts=("127.0.0.1",)), f"{origin}/a.png")
    policy = FetchPolicy(allowed_hosts=("*", "example.com"))
    for host in ("example.com", "8.8.8.8"):
        assert policy.allows(host, 80) and policy.allows(host, 443)
        assert not policy.allows(host, 22) and not policy.allows(host, 8080)
    assert _fetch(FetchPolicy(allowed_hosts=(f"127.0.0.1:{port}",)), f"{origin}/a.png") == BODY


@pytest.mark.parametrize(
    "entry, host, port",
    [
        ("images.example.com:8443", "images.example.com", 8443),
        ("Images.Example.com.:8443", "images.example.com", 8443),
        ("[2001:db8::1]:8443", "2001:db8::1", 8443),
        ("[2001:db8::1]", "2001:db8::1", 443),
        ("2001:db8::1", "2001:db8::1", 80),
        ("*:8443", "8.8.8.8", 8443),
    ],
)
def test_entries_may_carry_a_port(entry: str, host: str, port: int) -> None:
    policy = FetchPolicy(allowed_hosts=(entry,))
    assert policy.allows(host, port)
    assert not policy.allows(host, port + 1)


@pytest.mark.parametrize("entry", ["a.com:99999", "a.com:x", "[::1]:0", "[::1]:x", "a.com:"])
def test_malformed_entries_are_refused_where_they_are_set(entry: str) -> None:
    with pytest.raises(ValueError):
        FetchPolicy(allowed_hosts=(entry,))
    with pytest.raises(ValidationError):
        FetchSettings(allowed_hosts=[entry])


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/x",
        "http://[abc",
        "http://example.com:99999/a.png",
        "http://example.com:-1/a.png",
        "http://exa\x00mple.com/a.png",
        "http://" + "a" * 300 + ".com/a.png",
        "http:///a.png",
    ],
)
def test_malformed_urls_are_invalid_image_urls(url: str) -> None:
    with pytest.raises(InvalidImageUrl):
        _fetch(FetchPolicy(allowed_hosts=("*", "example.com")), url)
