"""Who is really calling, when a reverse proxy stands in between: the forwarded headers.

Behind a proxy every connection comes from the proxy's address; the proxy names the client
in `X-Forwarded-For` (or RFC 7239 `Forwarded`) and the scheme and host the client used in
`X-Forwarded-Proto` / `X-Forwarded-Host` (or `Forwarded`'s proto= and host=). Anyone can
send those headers, so they are believed only from a trusted proxy, and only as far as the
chain of trusted hops goes: walking from the right (the hop nearest to us), each hop written
by a trusted proxy is believed, and the first address that is not a trusted proxy is the
client. A hop that names no usable address ("unknown", "_hidden", garbage) ends the walk at
the last address that is known.

uvicorn's own ProxyHeadersMiddleware (0.54) reads X-Forwarded-For and -Proto only, takes one
scheme for the whole chain and keeps a malformed trusted-hosts entry as a literal name; it is
switched off (serving/server.py) and this module does the whole job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Literal

IPAddress = IPv4Address | IPv6Address
HeaderFamily = Literal["x-forwarded", "forwarded"]

_PORT = re.compile(r"[0-9]{1,5}")
# A Host header value: a DNS name or IPv4 address, or a bracketed IPv6 address, then a port.
_HOST = re.compile(r"(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_SCHEMES = {"http", "https"}
# One Forwarded pair: a token, "=", a token or a quoted string (RFC 7230 section 3.2.6).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PAIR = re.compile(rf'\s*({_TOKEN})=({_TOKEN}|"(?:[^"\\]|\\.)*")\s*')
_ESCAPED = re.compile(r"\\(.)")


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it: bare, with a port, IPv6 in brackets; None for anything
    else ("unknown", RFC 7239's obfuscated "_hidden", garbage). IPv4-mapped IPv6 addresses
    (::ffff:10.0.0.1, what a dual-stack socket reports) count as the IPv4 address."""
    value = text.strip()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :] if end > 0 else "?"
        if rest and not (rest[0] == ":" and _PORT.fullmatch(rest[1:])):
            return None
        value = value[1:end]
    elif value.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        value, _, port = value.partition(":")
        if not _PORT.fullmatch(port):
            return None
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _port(text: str) -> int:
    """The port written after an address (0 when none): kept for the ASGI client tuple."""
    tail = text.strip().rpartition("]")[2] if text.strip().startswith("[") else text.strip()
    if tail.count(":") != 1:
        return 0
    port = tail.rpartition(":")[2]
    return int(port) if _PORT.fullmatch(port) and int(port) < 65536 else 0


@dataclass(frozen=True)
class TrustedProxies:
    """The networks whose forwarded headers are believed (`BACKDROP_TRUSTED_PROXIES`)."""

    networks: tuple[IPv4Network | IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> TrustedProxies:
        """From settings' entries (already checked there: a bad one raises ValueError)."""
        networks: list[IPv4Network | IPv6Network] = []
        for entry in entries:
            network = ip_network(entry.strip())
            if isinstance(network, IPv6Network) and network.prefixlen >= 96:
                mapped = network.network_address.ipv4_mapped
                if mapped is not None:  # ::ffff:10.0.0.1 is written for 10.0.0.1
                    network = ip_network(f"{mapped}/{network.prefixlen - 96}")
            networks.append(network)
        return cls(tuple(networks))

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: IPAddress | str | None) -> bool:
        """True when `address` (a peer's, as the socket reports it) is a trusted proxy."""
        if not self.networks or address is None:
            return False
        if isinstance(address, str):
            address = parse_address(address)
            if address is None:
                return False
        return any(address in network for network in self.networks)


@dataclass(frozen=True)
class Hop:
    """One hop of a forwarded chain: the address a proxy received a connection from, and
    the scheme and Host that connection used (None where the proxy did not say)."""

    address: IPAddress | None
    port: int = 0
    scheme: str | None = None
    host: str | None = None


@dataclass(frozen=True)
class Caller:
    """Who is calling, as far as the trusted hops tell: the address the per-address limits
    count, and the scheme and host the URLs handed out are built on (None: the request's)."""

    address: str
    port: int
    scheme: str | None = None
    host: str | None = None


def _split(values: Sequence[str]) -> list[str]:
    """Comma lists of one header (several header lines count as one list, in order)."""
    return [item.strip() for value in values for item in value.split(",")]


def _clean_scheme(value: str | None) -> str | None:
    if value is None:
        return None
    scheme = value.strip().lower()
    return scheme if scheme in _SCHEMES else None


def _clean_host(value: str | None) -> str | None:
    if value is None:
        return None
    host = value.strip()
    return host if _HOST.fullmatch(host) else None


def x_forwarded_hops(
    forwarded_for: Sequence[str], proto: Sequence[str], host: Sequence[str]
) -> list[Hop]:
    """The chain told by X-Forwarded-For, left (the client) to right (the nearest proxy).

    A proxy that appends to X-Forwarded-Proto/-Host as it does to -For keeps the lists the
    same length, and each hop gets its own scheme and host; when the lengths differ (most
    proxies overwrite -Proto and -Host), the last value, set by the nearest proxy, stands for
    every hop.
    """
    addresses = _split(forwarded_for) if forwarded_for else []
    schemes = _split(proto) if proto else []
    hosts = _split(host) if host else []
    hops = []
    for index, text in enumerate(addresses):
        scheme = schemes[index] if len(schemes) == len(addresses) else _last(schemes)
        name = hosts[index] if len(hosts) == len(addresses) else _last(hosts)
        hops.append(Hop(parse_address(text), _port(text), _clean_scheme(scheme), _clean_host(name)))
    return hops


def _last(values: list[str]) -> str | None:
    return values[-1] if values else None


def forwarded_hops(values: Sequence[str]) -> list[Hop]:
    """The chain told by RFC 7239 Forwarded headers, left (the client) to right.

    An element that does not parse becomes a hop with no address: the walk stops there
    rather than skipping over what a trusted proxy wrote.
    """
    hops = []
    for value in values:
        for element in _forwarded_elements(value):
            if element is None:
                hops.append(Hop(None))
                continue
            text = element.get("for")
            hops.append(
                Hop(
                    parse_address(text) if text is not None else None,
                    _port(text) if text is not None else 0,
                    _clean_scheme(element.get("proto")),
                    _clean_host(element.get("host")),
                )
            )
    return hops


def _forwarded_elements(value: str) -> list[dict[str, str] | None]:
    """Forwarded's comma-separated elements of `name=value` pairs split by ';' (values may be
    quoted strings, which may hold ',' and ';'); None for an element that does not parse."""
    parts = _split_unquoted(value, ",")
    if parts is None:  # an unclosed quote: nothing in this header line can be placed
        return [None]
    elements: list[dict[str, str] | None] = []
    for part in parts:
        if not part.strip():
            continue  # RFC 7239 allows empty elements (",,")
        element: dict[str, str] | None = {}
        for pair in _split_unquoted(part, ";") or []:
            if not pair.strip():
                continue
            match = _PAIR.fullmatch(pair)
            name = match.group(1).lower() if match else ""
            if match is None or element is None or name in element:
                element = None  # garbage, or a parameter given twice (RFC 7239 forbids it)
                break
            text = match.group(2)
            if text.startswith('"'):
                text = _ESCAPED.sub(r"\1", text[1:-1])
            element[name] = text
        elements.append(element)
    return elements


def _split_unquoted(value: str, separator: str) -> list[str] | None:
    """`value` split at each `separator` outside a quoted string; None if a quote is open."""
    parts, start, quoted, position = [], 0, False, 0
    while position < len(value):
        char = value[position]
        if quoted and char == "\\":
            position += 1  # the escaped character, whatever it is
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(value[start:position])
            start = position + 1
        position += 1
    if quoted:
        return None
    parts.append(value[start:])
    return parts


def resolve(
    peer: IPAddress, peer_port: int, hops: Sequence[Hop], trusted: TrustedProxies
) -> Caller:
    """Who is calling, given that `peer` (the socket's address) is a trusted proxy.

    Walking from the right, each hop that names a trusted proxy is passed over; the first
    that names any other address is the client. The scheme and host are those the last hop
    looked at recorded: what the client's connection to the outermost trusted proxy used.
    When every hop is a trusted proxy, the leftmost is the caller (an internal call).
    """
    address: IPAddress = peer
    port = peer_port
    scheme = host = None
    for hop in reversed(hops):
        scheme, host = hop.scheme, hop.host
        if hop.address is None:
            # A trusted proxy that could not name its client: the nearest known address
            # stands (limits fall on that proxy rather than on a name anyone could write).
            break
        address, port = hop.address, hop.port
        if not trusted.trusts(hop.address):
            break
    return Caller(str(address), port, scheme, host)


def caller(
    peer: tuple[str, int] | None,
    headers: Iterable[tuple[bytes, bytes]],
    trusted: TrustedProxies,
    family: HeaderFamily,
) -> Caller | None:
    """Who is calling, from an ASGI scope's client and headers; None when `peer` is not a
    trusted proxy (its forwarded headers say nothing) or sent no forwarded header."""
    if peer is None:
        return None
    peer_address = parse_address(peer[0])
    if peer_address is None or not trusted.trusts(peer_address):
        return None
    wanted = _X_FORWARDED if family == "x-forwarded" else _FORWARDED
    found: dict[bytes, list[str]] = {}
    for name, value in headers:
        if name in wanted:
            found.setdefault(name, []).append(value.decode("latin-1"))
    if not found:
        return None
    if family == "x-forwarded":
        hops = x_forwarded_hops(
            found.get(b"x-forwarded-for", []),
            found.get(b"x-forwarded-proto", []),
            found.get(b"x-forwarded-host", []),
        )
        if not hops:
            # Only -Proto/-Host: the peer itself is the client, on the scheme/host it names.
            hops = [
                Hop(
                    peer_address,
                    peer[1],
                    _clean_scheme(_last(_split(found.get(b"x-forwarded-proto", [])))),
                    _clean_host(_last(_split(found.get(b"x-forwarded-host", [])))),
                )
            ]
    else:
        hops = forwarded_hops(found[b"forwarded"])
    return resolve(peer_address, peer[1], hops, trusted)


_X_FORWARDED = {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
_FORWARDED = {b"forwarded"}
# Every forwarded header, whichever family is read: one seen from an untrusted peer is worth
# a hint in the log (a proxy the operator forgot to list).
FORWARDED_HEADER_NAMES = _X_FORWARDED | _FORWARDED
