"""The per-address connection cap and trusted proxies (serving/connections.py)."""

from __future__ import annotations

from backdrop.api.forwarded import TrustedProxies
from backdrop.serving.connections import ConnectionGuard


def _guard(max_connections: int = 100) -> ConnectionGuard:
    return ConnectionGuard(
        max_connections=max_connections,
        max_per_address=2,
        header_timeout=10,
        body_timeout=30,
        exempt=TrustedProxies.parse(["127.0.0.1", "fd00::/8"]).trusts,
    )


def test_a_trusted_proxy_is_not_held_to_the_per_address_cap() -> None:
    guard = _guard()
    assert all(guard.admit("127.0.0.1") for _ in range(50))
    assert all(guard.admit("fd00::5") for _ in range(10))
    # Anyone else still is, the proxy's other neighbours on loopback included.
    assert guard.admit("127.0.0.2") and guard.admit("127.0.0.2")
    assert not guard.admit("127.0.0.2")
    assert guard.open_connections == 62
    for _ in range(50):
        guard.release("127.0.0.1")
    guard.release("127.0.0.2")
    assert guard.admit("127.0.0.2")
    assert guard.open_connections == 12


def test_the_server_wide_cap_still_holds_for_a_proxy() -> None:
    guard = _guard(max_connections=5)
    assert all(guard.admit("127.0.0.1") for _ in range(5))
    assert not guard.admit("127.0.0.1")
    guard.release("127.0.0.1")
    assert guard.admit("127.0.0.1")


def test_by_default_no_address_is_exempt() -> None:
    guard = ConnectionGuard(
        max_connections=100, max_per_address=2, header_timeout=1, body_timeout=1
    )
    assert guard.admit("127.0.0.1") and guard.admit("127.0.0.1")
    assert not guard.admit("127.0.0.1")
