"""Abuse, tried on a real `backdrop serve` process: slow clients, bad uploads, limits.

Every limit is set small here so that a few requests reach it; all traffic stays on 127.0.0.0/8
and is bounded in count and time.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import jpeg_bytes, subject_photo
from tests.servers import Server, create_key, start_server

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
PER_ADDRESS = 20

UPLOAD_URL = "/external/api/v2/uploadImageUrl"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("abuse") / "data",
        {
            "BACKDROP_CONNECTIONS__HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            "BACKDROP_CONNECTIONS__BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "BACKDROP_CONNECTIONS__MAX_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
            "BACKDROP_RATE_LIMITS__REQUESTS": "10/second",
            "BACKDROP_RATE_LIMITS__ORDERS": "2/minute",
            "BACKDROP_RATE_LIMITS__UPLOAD_BYTES": "1000000/hour",
            "BACKDROP_RATE_LIMITS__FAILED_AUTH": "5/minute",
            "BACKDROP_WORKER__MAX_WAIT_SECONDS": "1000",
        },
    )
    yield running
    assert running.stop() == 0


def client_from(address: str) -> httpx.Client:
    """An HTTP client whose connections come from another loopback address."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def ask_upload(
    server: Server, key: str, size: int, http: httpx.Client | None = None
) -> httpx.Response:
    payload = {"uploadType": "imageUrl", "size": size, "contentType": "image/jpeg"}
    return (http or httpx.Client(timeout=10)).post(
        server.base_url + UPLOAD_URL, json=payload, headers={"x-api-key": key}
    )


def raw_connection(server: Server, address: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", server.port), timeout=10, source_address=(address, 0)
    )
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True if the server closes `sock` within `seconds` (whatever it sends before)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionError:
            return True
    return False


def test_a_slowloris_from_one_address_does_not_take_the_server_from_others(server: Server) -> None:
    sockets = []
    try:
        for _ in range(200):
            sock = raw_connection(server)
            # Half a request head, never finished.
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            sockets.append(sock)
        with client_from("127.0.0.2") as other:
            for _ in range(5):
                started = time.monotonic()
                assert other.get(server.base_url + "/health").status_code == 200
                assert time.monotonic() - started < 2.0
        # Beyond its share the address's connections were closed at once ...
        refused = sum(closed_within(sock, 0.05) for sock in sockets[PER_ADDRESS + 5 :])
        assert refused == len(sockets) - PER_ADDRESS - 5
        # ... and the rest once the header timeout ran out.
        time.sleep(HEADER_TIMEOUT)
        assert all(closed_within(sock, 2.0) for sock in sockets[:PER_ADDRESS])
    finally:
        for sock in sockets:
            sock.close()
    metrics = httpx.get(server.base_url + "/metrics").text
    assert 'backdrop_connections_closed_total{reason="address_full"}' in metrics
    assert 'backdrop_connections_closed_total{reason="headers_timeout"}' in metrics


def signed_upload(server: Server, key: str, size: int) -> str:
    response = ask_upload(server, key, size)
    assert response.status_code == 200, response.text
    upload: str = response.json()["body"]["uploadImage"]
    return upload


def put_head(upload_url: str, length: int, signature: str | None = None) -> bytes:
    parts = urlsplit(upload_url)
    query = parts.query
    if signature is not None:
        query = "&".join(
            f"signature={signature}" if item.startswith("signature=") else item
            for item in query.split("&")
        )
    return (
        f"PUT {parts.path}?{query} HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_a_slow_body_is_cut_off_quietly(server: Server) -> None:
    upload = signed_upload(server, server.api_key, 1000)
    with raw_connection(server) as sock:
        sock.sendall(put_head(upload, 1000) + b"\xff\xd8" + b"x" * 98)
        started = time.monotonic()
        assert closed_within(sock, BODY_TIMEOUT + 3)
        assert time.monotonic() - started >= BODY_TIMEOUT - 0.5
    time.sleep(0.5)
    log = server.log()
    assert "(client disconnected)" in log
    assert "Traceback" not in log


def test_a_bad_signature_is_refused_before_the_body_is_read(server: Server) -> None:
    upload = signed_upload(server, server.api_key, 1000)
    with raw_connection(server) as sock:
        # Claims 5 MB, sends 64 KB: the answer comes, and the connection closes, at once.
        sock.sendall(put_head(upload, 5_000_000, signature="0" * 64) + b"\0" * 65536)
        sock.settimeout(5)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
        assert b"connection: close" in answer.lower()
        assert closed_within(sock, 2)


def test_an_upload_url_works_once(server: Server) -> None:
    data = jpeg_bytes(subject_photo(64, 48)[0])
    upload = signed_upload(server, server.api_key, len(data))
    headers = {"Content-Type": "image/jpeg"}
    assert httpx.put(upload, content=data, headers=headers).status_code == 200
    again = httpx.put(upload, content=data, headers=headers)
    assert again.status_code == 403
    assert again.json()["statusCode"] == 4007


def test_signatures_and_keys_never_reach_the_log(server: Server) -> None:
    data = jpeg_bytes(subject_photo(64, 48)[0])
    upload = signed_upload(server, server.api_key, len(data))
    httpx.put(upload, content=data, headers={"Content-Type": "image/jpeg"})
    httpx.get(server.base_url + "/health", headers={"x-api-key": server.api_key})
    log = server.log()
    signature = upload.rsplit("signature=", 1)[1]
    assert signature not in log and server.api_key not in log
    assert "PUT /images/uploads/" in log


def test_a_key_over_its_request_rate_gets_429_with_headers(server: Server) -> None:
    key = create_key(server, 5)
    with httpx.Client(timeout=10) as http:
        answers = [
            http.get(server.base_url + "/external/api/v1/account", headers={"x-api-key": key})
            for _ in range(25)
        ]
    ok = [a for a in answers if a.status_code == 200]
    limited = [a for a in answers if a.status_code == 429]
    assert ok and limited, [a.status_code for a in answers]
    assert ok[0].headers["X-RateLimit-Limit"] == "10"
    assert int(ok[0].headers["X-RateLimit-Remaining"]) < 10
    assert int(ok[0].headers["X-RateLimit-Reset"]) >= int(time.time())
    refusal = limited[0]
    assert refusal.json()["statusCode"] == 4029
    assert refusal.headers["X-RateLimit-Remaining"] == "0"
    assert int(refusal.headers["Retry-After"]) >= 1


def test_failed_authentication_is_limited_per_address(server: Server) -> None:
    with client_from("127.0.0.3") as attacker, client_from("127.0.0.4") as other:
        codes = [
            attacker.get(
                server.base_url + "/external/api/v1/account", headers={"x-api-key": f"bd_{n}"}
            ).status_code
            for n in range(8)
        ]
        assert codes[:5] == [403] * 5 and set(codes[5:]) == {429}
        # The address is refused even with a good key; other addresses are not.
        good = {"x-api-key": server.api_key}
        blocked = attacker.get(server.base_url + "/external/api/v1/account", headers=good)
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers
        assert (
            other.get(server.base_url + "/external/api/v1/account", headers=good).status_code == 200
        )


def test_no_upload_url_for_a_key_that_cannot_pay(server: Server) -> None:
    broke = create_key(server, 0.25)  # less than a removal (0.5)
    refused = ask_upload(server, broke, 1000)
    assert refused.status_code == 402
    assert refused.json()["statusCode"] == 5040


def test_upload_bytes_per_period_are_limited(server: Server) -> None:
    key = create_key(server, 5)
    assert ask_upload(server, key, 400_000).status_code == 200
    assert ask_upload(server, key, 400_000).status_code == 200
    over = ask_upload(server, key, 400_000)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
    # A refused request used none of the budget: a smaller one still fits.
    assert ask_upload(server, key, 150_000).status_code == 200


def test_orders_per_period_are_limited(server: Server) -> None:
    key = create_key(server, 5)
    data = jpeg_bytes(subject_photo(64, 48)[0])
    response = ask_upload(server, key, len(data))
    body: dict[str, Any] = response.json()["body"]
    httpx.put(body["uploadImage"], content=data, headers={"Content-Type": "image/jpeg"})
    order = {"imageUrl": body["imageUrl"]}
    url = server.base_url + "/external/api/v1/remove-background"
    codes = [
        httpx.post(url, json=order, headers={"x-api-key": key}, timeout=10).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
