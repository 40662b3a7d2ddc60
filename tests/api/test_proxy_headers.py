"""An API node behind a trusted proxy, in process: who is locked out, which URLs it hands out.

The node is a cluster's API node (Celery on RabbitMQ, SQLite, local files): it loads no model.
Starlette's TestClient lets each client pose as a peer address, a proxy's or anyone's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from backdrop.api.app import create_app
from backdrop.queue.celery_queue import celery_app
from backdrop.serving.node import ApiNode, build_node
from backdrop.settings import QueueSettings, RateLimitSettings, Settings
from tests.conftest import jpeg_bytes, subject_photo
from tests.infra import RABBITMQ_URL, unique

PROXY = ("10.0.0.2", 40000)
STRANGER = ("203.0.113.50", 40000)
UPLOAD = "/external/api/v2/uploadImageUrl"
ACCOUNT = "/external/api/v1/account"


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": None,
        "public_url": None,
        "signing_secret": "proxy-test-secret-0123456789abcdef0123",
        "trusted_proxies": ["10.0.0.0/8"],
        "queue": QueueSettings(backend="celery", broker_url=RABBITMQ_URL, name=unique("bd-px")),
        "rate_limits": RateLimitSettings(failed_auth="3/minute"),
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


class Peers:
    def __init__(self, node: ApiNode, stack: ExitStack) -> None:
        app = create_app(node.api)
        self.node = node
        self.key = node.keys.create("shop", 10).secret
        self.proxy = stack.enter_context(TestClient(app, client=PROXY))
        self.stranger = stack.enter_context(TestClient(app, client=STRANGER))

    def upload_ticket(self, client: TestClient, headers: dict[str, str]) -> dict[str, str]:
        size = 1000
        answer = client.post(
            UPLOAD,
            json={"uploadType": "imageUrl", "size": size, "contentType": "image/jpeg"},
            headers={"x-api-key": self.key, **headers},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, str] = answer.json()["body"]
        return body


def _peers(settings: Settings) -> Iterator[Peers]:
    node = build_node(settings)
    assert isinstance(node, ApiNode)
    node.start()
    try:
        with ExitStack() as stack:
            yield Peers(node, stack)
    finally:
        node.stop()
        app = celery_app(settings.queue)
        with app.connection() as connection:
            connection.default_channel.queue_delete(settings.queue.name)
        app.close()


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[Peers]:
    yield from _peers(_settings(tmp_path))


BEHIND_PROXY = {
    "x-forwarded-for": "198.51.100.1",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "api.example.com",
}


def test_urls_follow_the_forwarded_host_and_scheme(peers: Peers) -> None:
    body = peers.upload_ticket(peers.proxy, BEHIND_PROXY)
    assert body["imageUrl"].startswith("https://api.example.com/images/")
    assert body["uploadImage"].startswith("https://api.example.com/images/")


def test_forged_headers_from_an_untrusted_peer_change_nothing(peers: Peers) -> None:
    body = peers.upload_ticket(peers.stranger, BEHIND_PROXY)
    assert body["imageUrl"].startswith("http://testserver/images/")


def test_an_explicit_public_url_still_wins(tmp_path: Path) -> None:
    for peers in _peers(_settings(tmp_path, public_url="https://images.example.org")):
        body = peers.upload_ticket(peers.proxy, BEHIND_PROXY)
        assert body["imageUrl"].startswith("https://images.example.org/images/")


def test_an_upload_url_verifies_whichever_host_it_reaches(peers: Peers) -> None:
    """Issued through the proxy's public name, PUT straight to the node (as through a proxy
    to another node): the signature covers who may upload what, never the host."""
    data = jpeg_bytes(subject_photo()[0])
    answer = peers.proxy.post(
        UPLOAD,
        json={"uploadType": "imageUrl", "size": len(data), "contentType": "image/jpeg"},
        headers={"x-api-key": peers.key, **BEHIND_PROXY},
    )
    body = answer.json()["body"]
    url = urlsplit(body["uploadImage"])
    assert url.netloc == "api.example.com"
    put = peers.stranger.put(
        f"{url.path}?{url.query}", content=data, headers={"content-type": "image/jpeg"}
    )
    assert put.status_code == 200, put.text
    # The imageUrl it was given through the proxy is taken back through the proxy.
    order = peers.proxy.post(
        "/external/api/v1/remove-background",
        json={"imageUrl": body["imageUrl"]},
        headers={"x-api-key": peers.key, **BEHIND_PROXY},
    )
    assert order.status_code == 200, order.text


def test_the_wrong_key_lockout_falls_on_the_client_not_the_proxy(peers: Peers) -> None:
    wrong = {"x-api-key": "bd_wrong", "x-forwarded-for": "198.51.100.1"}
    for _ in range(3):
        assert peers.proxy.get(ACCOUNT, headers=wrong).status_code == 403
    # 198.51.100.1 is locked out, even with the right key...
    locked = peers.proxy.get(
        ACCOUNT, headers={"x-api-key": peers.key, "x-forwarded-for": "198.51.100.1"}
    )
    assert locked.status_code == 429
    # ...another client behind the same proxy is served, and so is the proxy itself.
    other = peers.proxy.get(
        ACCOUNT, headers={"x-api-key": peers.key, "x-forwarded-for": "198.51.100.2"}
    )
    assert other.status_code == 200
    assert peers.proxy.get(ACCOUNT, headers={"x-api-key": peers.key}).status_code == 200


def test_a_forged_chain_cannot_dodge_the_lockout(peers: Peers) -> None:
    # Through the proxy: the client's own X-Forwarded-For entries come before the proxy's.
    for number in range(3):
        forged = {"x-api-key": "bd_wrong", "x-forwarded-for": f"10.9.9.{number}, 198.51.100.7"}
        assert peers.proxy.get(ACCOUNT, headers=forged).status_code == 403
    chain = {"x-api-key": peers.key, "x-forwarded-for": "10.9.9.9, 198.51.100.7"}
    assert peers.proxy.get(ACCOUNT, headers=chain).status_code == 429
    # Straight to the node from an untrusted address: the header is not read at all.
    for number in range(3):
        forged = {"x-api-key": "bd_wrong", "x-forwarded-for": f"198.51.100.{number + 10}"}
        assert peers.stranger.get(ACCOUNT, headers=forged).status_code == 403
    refused = peers.stranger.get(
        ACCOUNT, headers={"x-api-key": peers.key, "x-forwarded-for": "198.51.100.99"}
    )
    assert refused.status_code == 429


def test_the_access_line_names_the_client(peers: Peers, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="backdrop.access"):
        peers.proxy.get(ACCOUNT, headers={"x-api-key": peers.key, "x-forwarded-for": "2001:db8::7"})
    assert any(line.startswith("2001:db8::7 GET") for line in caplog.messages)


def test_an_unlisted_proxy_is_pointed_out_once(
    peers: Peers, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="backdrop.api.proxy_headers"):
        for _ in range(3):
            peers.stranger.get(ACCOUNT, headers={"x-forwarded-for": "198.51.100.1"})
    hints = [line for line in caplog.messages if "BACKDROP_TRUSTED_PROXIES" in line]
    assert len(hints) == 1
    assert "203.0.113.50" in hints[0] and "x-forwarded-for" in hints[0]
