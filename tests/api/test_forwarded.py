"""Reading forwarded headers: chains, IPv6, garbage and spoofing (api/forwarded.py)."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from pydantic import ValidationError

from backdrop.api.forwarded import (
    Caller,
    TrustedProxies,
    caller,
    forwarded_hops,
    parse_address,
)
from backdrop.settings import Settings

PROXIES = TrustedProxies.parse(["10.0.0.0/8", "2001:db8:1::/48", "192.0.2.7"])


def x_forwarded(
    peer: str, forwarded_for: str | None = None, *more: tuple[str, str]
) -> Caller | None:
    headers = [(b"x-forwarded-for", forwarded_for.encode())] if forwarded_for is not None else []
    headers += [(name.encode(), value.encode()) for name, value in more]
    return caller((peer, 4321), headers, PROXIES, "x-forwarded")


def forwarded(peer: str, *values: str) -> Caller | None:
    headers = [(b"forwarded", value.encode("latin-1")) for value in values]
    return caller((peer, 4321), headers, PROXIES, "forwarded")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9:5678 ", "203.0.113.9"),
        ("2001:db8::9", "2001:db8::9"),
        ("[2001:db8::9]", "2001:db8::9"),
        ("[2001:db8::9]:443", "2001:db8::9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),  # what a dual-stack socket reports
        ("unknown", None),
        ("_hidden", None),
        ("", None),
        ("203.0.113.9:port", None),
        ("203.0.113.9:123456", None),
        ("[2001:db8::9", None),
        ("[2001:db8::9]x", None),
        ("999.1.1.1", None),
        ("203.0.113.9, 10.0.0.1", None),
        ("2001:db8::9:٣", None),  # a non-ASCII digit is no port
    ],
)
def test_addresses_are_read_as_proxies_write_them(text: str, expected: str | None) -> None:
    assert parse_address(text) == (ip_address(expected) if expected else None)


def test_trusted_networks_take_ipv4_ipv6_and_mapped_addresses() -> None:
    assert PROXIES.trusts("10.1.2.3")
    assert PROXIES.trusts("::ffff:10.1.2.3")
    assert PROXIES.trusts("2001:db8:1:ffff::1")
    assert PROXIES.trusts("192.0.2.7")
    assert not PROXIES.trusts("192.0.2.8")
    assert not PROXIES.trusts("2001:db8:2::1")
    assert not PROXIES.trusts("testclient")  # Starlette's TestClient peer: not an address
    assert not TrustedProxies().trusts("127.0.0.1")  # the default trusts no one
    assert TrustedProxies.parse(["::ffff:127.0.0.1"]).trusts("127.0.0.1")


def test_an_untrusted_peer_changes_nothing() -> None:
    assert x_forwarded("203.0.113.50", "198.51.100.1") is None
    assert x_forwarded("127.0.0.1", "198.51.100.1", ("x-forwarded-host", "evil.test")) is None
    assert forwarded("203.0.113.50", "for=198.51.100.1;host=evil.test;proto=https") is None


def test_a_trusted_proxy_names_the_client() -> None:
    found = x_forwarded(
        "10.0.0.2",
        "198.51.100.1",
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.example.com"),
    )
    assert found == Caller("198.51.100.1", 0, "https", "api.example.com")


def test_the_walk_skips_trusted_hops_from_the_right() -> None:
    # client -> CDN-ish proxy 192.0.2.7 -> internal 10.0.0.9 -> peer 10.0.0.2
    found = x_forwarded("10.0.0.2", "198.51.100.1, 192.0.2.7, 10.0.0.9")
    assert found is not None and found.address == "198.51.100.1"


def test_a_forged_left_part_of_the_chain_is_not_believed() -> None:
    # The client wrote "1.1.1.1" itself; the trusted proxy appended the address it saw.
    found = x_forwarded("10.0.0.2", "1.1.1.1, 198.51.100.1")
    assert found is not None and found.address == "198.51.100.1"
    # Forging a trusted address does not help either: the walk stops at the real client.
    found = x_forwarded("10.0.0.2", "10.0.0.5, 198.51.100.1")
    assert found is not None and found.address == "198.51.100.1"


def test_several_header_lines_are_one_list() -> None:
    headers = [(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-for", b"198.51.100.1, 10.0.0.9")]
    found = caller(("10.0.0.2", 1), headers, PROXIES, "x-forwarded")
    assert found is not None and found.address == "198.51.100.1"


def test_every_hop_trusted_means_the_leftmost_is_calling() -> None:
    found = x_forwarded("10.0.0.2", "10.0.0.7, 10.0.0.9")
    assert found is not None and found.address == "10.0.0.7"


@pytest.mark.parametrize("garbage", ["unknown", "", "not an address", "1.2.3.4.5", "::zz"])
def test_garbage_ends_the_walk_at_the_nearest_known_address(garbage: str) -> None:
    # The proxy's own entry is garbage: the peer itself is the caller, never the garbage.
    found = x_forwarded("10.0.0.2", f"198.51.100.1, {garbage}")
    assert found is not None and found.address == "10.0.0.2"
    # A trusted hop's entry is garbage: the walk stops at that trusted hop.
    found = x_forwarded("10.0.0.2", f"{garbage}, 10.0.0.9")
    assert found is not None and found.address == "10.0.0.9"


def test_ipv6_clients_and_ports() -> None:
    found = x_forwarded("2001:db8:1::5", "[2001:db8:9::1]:5555, 2001:db8:1::6")
    assert found == Caller("2001:db8:9::1", 5555)
    found = x_forwarded("::ffff:10.0.0.2", "203.0.113.9:1234")
    assert found == Caller("203.0.113.9", 1234)


def test_scheme_and_host_follow_the_hop_of_the_client() -> None:
    # Appended per hop (same length as -For): the client's hop's values are taken.
    found = x_forwarded(
        "10.0.0.2",
        "198.51.100.1, 10.0.0.9",
        ("x-forwarded-proto", "https, http"),
        ("x-forwarded-host", "api.example.com, internal:8000"),
    )
    assert found == Caller("198.51.100.1", 0, "https", "api.example.com")
    # Overwritten by the nearest proxy (one value): it stands for the whole chain.
    found = x_forwarded(
        "10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.9", ("x-forwarded-proto", "https")
    )
    assert found == Caller("198.51.100.1", 0, "https", None)


@pytest.mark.parametrize(
    ("proto", "host"),
    [
        ("javascript", "evil.test/path"),
        ("https://x", "a b"),
        ("", "evil.test@good.test"),
        ("ftp", "[::1"),
    ],
)
def test_bad_scheme_or_host_values_are_dropped(proto: str, host: str) -> None:
    found = x_forwarded(
        "10.0.0.2", "198.51.100.1", ("x-forwarded-proto", proto), ("x-forwarded-host", host)
    )
    assert found == Caller("198.51.100.1", 0, None, None)


def test_proto_and_host_without_for_keep_the_peer_as_client() -> None:
    found = x_forwarded(
        "10.0.0.2", None, ("x-forwarded-proto", "HTTPS"), ("x-forwarded-host", "[2001:db8::1]:8443")
    )
    assert found == Caller("10.0.0.2", 4321, "https", "[2001:db8::1]:8443")


def test_only_the_configured_family_is_read() -> None:
    # nginx appends X-Forwarded-For but passes a client's Forwarded header through untouched.
    assert forwarded("10.0.0.2") is None
    headers = [(b"forwarded", b"for=1.1.1.1"), (b"x-forwarded-for", b"198.51.100.1")]
    found = caller(("10.0.0.2", 1), headers, PROXIES, "x-forwarded")
    assert found is not None and found.address == "198.51.100.1"
    found = caller(("10.0.0.2", 1), headers, PROXIES, "forwarded")
    assert found is not None and found.address == "1.1.1.1"


def test_rfc_7239_examples() -> None:
    assert forwarded("10.0.0.2", 'for="_gazonk"') == Caller("10.0.0.2", 4321)
    found = forwarded("10.0.0.2", 'For="[2001:db8:cafe::17]:4711"')
    assert found == Caller("2001:db8:cafe::17", 4711)
    found = forwarded("10.0.0.2", "for=192.0.2.60;proto=http;by=203.0.113.43")
    assert found == Caller("192.0.2.60", 0, "http", None)
    found = forwarded("10.0.0.2", "for=192.0.2.43, for=198.51.100.17")
    assert found is not None and found.address == "198.51.100.17"


def test_forwarded_chains_carry_scheme_and_host_per_hop() -> None:
    found = forwarded(
        "10.0.0.2",
        'for=198.51.100.1;proto=https;host="api.example.com", for=10.0.0.9;proto=http;host="in:80"',
    )
    assert found == Caller("198.51.100.1", 0, "https", "api.example.com")
    # Two header lines are one list, as with X-Forwarded-For.
    found = forwarded("10.0.0.2", "for=1.1.1.1", "for=198.51.100.1;host=a.test, for=10.0.0.9")
    assert found == Caller("198.51.100.1", 0, None, "a.test")


@pytest.mark.parametrize(
    "value",
    [
        "for=198.51.100.1;for=203.0.113.1",  # a parameter twice
        "for 198.51.100.1",
        "for=[2001:db8::1]",  # brackets must be quoted: not a token
        "=198.51.100.1",
        "for=198.51.100.1;garbage",
        "\x00\xff",
    ],
)
def test_a_forwarded_element_that_does_not_parse_ends_the_walk(value: str) -> None:
    assert forwarded("10.0.0.2", value) == Caller("10.0.0.2", 4321)
    # Behind a trusted hop that parses, the walk stops at that hop.
    assert forwarded("10.0.0.2", f"{value}, for=10.0.0.9") == Caller("10.0.0.9", 0)


def test_an_unclosed_quote_spoils_its_whole_header_line() -> None:
    # Where its elements end cannot be told: nothing in that line is believed.
    assert forwarded("10.0.0.2", 'for="198.51.100.1, for=10.0.0.9') == Caller("10.0.0.2", 4321)
    found = forwarded("10.0.0.2", 'for="198.51.100.1', "for=10.0.0.9")
    assert found == Caller("10.0.0.9", 0)


def test_quoted_strings_may_hold_separators() -> None:
    found = forwarded("10.0.0.2", 'for=198.51.100.1;host="a.test";by="x,y;z\\"", ,')
    assert found == Caller("198.51.100.1", 0, None, "a.test")
    assert [hop.address for hop in forwarded_hops(['for="1.1.1.1", for=unknown'])] == [
        ip_address("1.1.1.1"),
        None,
    ]


def test_a_long_chain_is_read_in_linear_time() -> None:
    chain = ", ".join(["10.0.0.1"] * 2000 + ["198.51.100.1"])
    found = x_forwarded("10.0.0.2", chain)
    assert found is not None and found.address == "198.51.100.1"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("127.0.0.1", ["127.0.0.1"]),
        ("127.0.0.1, ::1 ,10.0.0.0/8,", ["127.0.0.1", "::1", "10.0.0.0/8"]),
        ('["192.0.2.0/24", "fd00::/8"]', ["192.0.2.0/24", "fd00::/8"]),
        ("", []),
    ],
)
def test_the_setting_takes_a_comma_list_or_json(
    env: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKDROP_TRUSTED_PROXIES", env)
    assert Settings().trusted_proxies == expected


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ("nginx", "host names are not accepted"),
        ("10.0.0.1/8", "has host bits set"),
        ("[bad", "not a JSON list"),
        ("10.0.0.0/33", "not an IP address or network"),
    ],
)
def test_a_bad_entry_stops_the_server_at_start(
    env: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKDROP_TRUSTED_PROXIES", env)
    with pytest.raises(ValidationError, match=said.replace("[", r"\[")):
        Settings()
