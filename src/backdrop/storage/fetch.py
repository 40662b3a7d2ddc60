"""Fetch an image from a URL the operator allows, without becoming a proxy into their network.

Only hosts (and ports) on the operator's allow-list are fetched: an entry is a host, which
allows ports 80 and 443, or a host with its port (`images.example.com:8443`,
`[2001:db8::1]:8443`). Every address a name resolves to is checked, and the connection goes
to the checked address (the name is kept for TLS and the Host header), so a DNS answer that
changes between the check and the connect cannot point the request at a private service.
Addresses that are not globally routable are refused unless the host is named on the list
itself (not only through "*"); an IPv6 address that carries an IPv4 one (mapped, NAT64,
6to4, Teredo...) is judged by that IPv4 too, since the packets end up there. Redirects are
followed by hand, each hop checked again; the body is capped in size and the whole fetch in
time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx

from backdrop.errors import InvalidImageUrl, PayloadTooLarge

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_REDIRECTS = {301, 302, 303, 307, 308}
# The ports an allow-list entry without one allows: the web's own.
DEFAULT_PORTS = frozenset({80, 443})
_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# IANA's special-purpose ranges that are not globally reachable. Python's `is_global` misses
# some of them in some versions (192.0.0.8 and ::127.0.0.1 are "global" in 3.11), so they are
# listed here as well.
_NOT_GLOBAL: tuple[_V4 | _V6, ...] = (
    _V4("0.0.0.0/8"),
    _V4("10.0.0.0/8"),
    _V4("100.64.0.0/10"),
    _V4("127.0.0.0/8"),
    _V4("169.254.0.0/16"),
    _V4("172.16.0.0/12"),
    _V4("192.0.0.0/24"),
    _V4("192.0.2.0/24"),
    _V4("192.88.99.0/24"),
    _V4("192.168.0.0/16"),
    _V4("198.18.0.0/15"),
    _V4("198.51.100.0/24"),
    _V4("203.0.113.0/24"),
    _V4("224.0.0.0/4"),
    _V4("240.0.0.0/4"),
    _V6("::/96"),  # unspecified, loopback and the deprecated IPv4-compatible form
    _V6("::ffff:0:0/96"),  # IPv4-mapped: judged by its IPv4 (see is_public)
    _V6("::ffff:0:0:0/96"),  # SIIT
    _V6("64:ff9b:1::/48"),  # local-use NAT64
    _V6("100::/64"),
    _V6("2001::/23"),
    _V6("2001:db8::/32"),
    _V6("fc00::/7"),
    _V6("fe80::/10"),
    _V6("fec0::/10"),
    _V6("ff00::/8"),
)
# IPv6 ranges whose last 32 bits are an IPv4 address that the packets are translated to.
_LOW_32_EMBEDDING = (
    _V6("::/96"),
    _V6("::ffff:0:0/96"),
    _V6("::ffff:0:0:0/96"),
    _V6("64:ff9b::/96"),
    _V6("64:ff9b:1::/48"),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and so may reach); empty for plain IPv6."""
    if any(address in network for network in _LOW_32_EMBEDDING):
        return [ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # the relay server and the client
    return []


def is_public(address: Address) -> bool:
    """True for globally routable unicast addresses only; an IPv6 address carrying an IPv4
    one also needs that IPv4 to be public."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if not all(is_public(ipv4) for ipv4 in carried):
            return False
        if address.ipv4_mapped is not None:
            # The system connects to the IPv4 itself: it alone decides.
            return True
    if any(address in network for network in _NOT_GLOBAL):
        return False
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class AllowedHost:
    """One allow-list entry: a host ("*" = any public host) and the ports it allows."""

    host: str
    ports: frozenset[int]

    @classmethod
    def parse(cls, entry: str) -> AllowedHost:
        """`host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address (no port)."""
        text = entry.strip().lower()
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            separator, port = rest[:1], rest[1:]
        elif text.count(":") == 1:
            host, separator, port = text.partition(":")
        else:  # a name, or a bare IPv6 address
            host, separator, port = text, "", ""
        if not separator:
            return cls(host.rstrip("."), DEFAULT_PORTS)
        if separator != ":" or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"allow-list entry {entry!r}: the port must be 1-65535")
        return cls(host.rstrip("."), frozenset({int(port)}))


@dataclass(frozen=True)
class FetchPolicy:
    """What may be fetched: hosts ("*" = any public host) with their ports, size and time
    limits."""

    allowed_hosts: tuple[str, ...] = ()
    max_bytes: int = 5_242_880
    timeout_seconds: float = 10.0
    max_redirects: int = 3
    entries: tuple[AllowedHost, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Parsed once, here: a malformed entry fails where the policy is made.
        entries = tuple(AllowedHost.parse(entry) for entry in self.allowed_hosts)
        object.__setattr__(self, "entries", entries)

    def names(self, host: str, port: int) -> bool:
        """Whether `host:port` is on the list by name (which also allows its private
        addresses)."""
        name = host.lower().rstrip(".")
        return any(e.host == name and port in e.ports for e in self.entries)

    def allows(self, host: str, port: int) -> bool:
        anywhere = any(e.host == "*" and port in e.ports for e in self.entries)
        return anywhere or self.names(host, port)


def split_url(url: str) -> tuple[SplitResult, str, int]:
    """The parts of an http(s) image URL, its host and port; InvalidImageUrl for anything
    else, malformed ones included (`http://[::1`, port 99999)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise InvalidImageUrl("the image URL is malformed") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidImageUrl("the image URL must be an http:// or https:// URL")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


async def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        # gaierror, and names the IDNA codec or the resolver refuse (too long, NUL...).
        raise InvalidImageUrl(f"the host {host!r} of the image URL could not be resolved") from None
    # Scope ids ("fe80::1%eth0") are dropped: such addresses are refused anyway.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def _checked_address(policy: FetchPolicy, url: str) -> tuple[httpx.URL, str]:
    """The URL to connect to (host replaced by a checked address) and the original host."""
    parts, host, port = split_url(url)
    if parts.username or parts.password:
        raise InvalidImageUrl("the image URL must not carry credentials")
    if not policy.allows(host, port):
        raise InvalidImageUrl(
            f"this server does not fetch images from {host!r} on port {port}; upload the image "
            "instead (image_file or image_file_b64), or ask the operator to allow the host "
            "(BACKDROP_FETCH__ALLOWED_HOSTS)"
        )
    addresses = await _resolve(host, port)
    if not addresses:
        raise InvalidImageUrl(f"the host {host!r} of the image URL has no address")
    if not policy.names(host, port) and not all(is_public(a) for a in addresses):
        raise InvalidImageUrl(
            f"{host!r} resolves to a private or local address; this server does not fetch it"
        )
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    try:
        target = httpx.URL(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")))
    except httpx.InvalidURL:
        raise InvalidImageUrl("the image URL is malformed") from None
    return target, host


async def fetch_image(policy: FetchPolicy, url: str) -> bytes:
    """The body of `url` (at most `policy.max_bytes`), or InvalidImageUrl / PayloadTooLarge."""
    try:
        return await asyncio.wait_for(_fetch(policy, url), policy.timeout_seconds)
    except TimeoutError:
        raise InvalidImageUrl(
            f"the image URL did not answer within {policy.timeout_seconds:g} s"
        ) from None


async def _fetch(policy: FetchPolicy, url: str) -> bytes:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(policy.max_redirects + 1):
            target, host = await _checked_address(policy, url)
            headers = {"Host": urlsplit(url).netloc.rsplit("@", 1)[-1]}
            try:
                request = client.build_request(
                    "GET", target, headers=headers, extensions={"sni_hostname": host}
                )
                response = await client.send(request, stream=True)
            except httpx.HTTPError as error:
                raise InvalidImageUrl(f"the image URL could not be fetched: {error}") from None
            except (httpx.InvalidURL, UnicodeError, ValueError):
                # A host or path that httpx cannot put on the wire (non-ASCII Host, ...).
                raise InvalidImageUrl("the image URL is malformed") from None
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = _redirect_target(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise InvalidImageUrl(
                        f"the image URL answered HTTP {response.status_code}, not an image"
                    )
                return await _read_capped(response, policy.max_bytes)
            finally:
                await response.aclose()
    raise InvalidImageUrl(f"the image URL redirected more than {policy.max_redirects} times")


def _redirect_target(url: str, location: str) -> str:
    try:
        return urljoin(url, location)
    except ValueError:
        raise InvalidImageUrl("the image URL redirected to a malformed URL") from None


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the image at the URL has {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the image at the URL is larger than {limit} bytes")
    return bytes(body)
