"""Fetch an image from a URL the operator allows, without becoming a proxy into their network.

Only hosts on the operator's allow-list are fetched. Every address a name resolves to is
checked, and the connection goes to the checked address (the name is kept for TLS and the
Host header), so a DNS answer that changes between the check and the connect cannot point
the request at a private service. Private, loopback, link-local and other non-public
addresses are refused unless the host is named on the list itself (not only through "*").
Redirects are followed by hand, each hop checked again; the body is capped in size and the
whole fetch in time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from backdrop.errors import InvalidImageUrl, PayloadTooLarge

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class FetchPolicy:
    """What may be fetched: hosts ("*" = any public host), size and time limits."""

    allowed_hosts: tuple[str, ...] = ()
    max_bytes: int = 5_242_880
    timeout_seconds: float = 10.0
    max_redirects: int = 3

    def names(self, host: str) -> bool:
        """Whether `host` is on the list by name (which also allows its private addresses)."""
        return host.lower().rstrip(".") in {h.lower().rstrip(".") for h in self.allowed_hosts}

    def allows(self, host: str) -> bool:
        return "*" in self.allowed_hosts or self.names(host)


def is_public(address: Address) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


async def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InvalidImageUrl(f"the host {host!r} of the image URL could not be resolved") from None
    # Scope ids ("fe80::1%eth0") are dropped: such addresses are refused anyway.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def _checked_address(policy: FetchPolicy, url: str) -> tuple[httpx.URL, str]:
    """The URL to connect to (host replaced by a checked address) and the original host."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidImageUrl("the image URL must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise InvalidImageUrl("the image URL must not carry credentials")
    if not policy.allows(host):
        raise InvalidImageUrl(
            f"this server does not fetch images from {host!r}; upload the image instead "
            "(image_file or image_file_b64), or ask the operator to allow the host "
            "(BACKDROP_FETCH__ALLOWED_HOSTS)"
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await _resolve(host, port)
    if not addresses:
        raise InvalidImageUrl(f"the host {host!r} of the image URL has no address")
    if not policy.names(host) and not all(is_public(a) for a in addresses):
        raise InvalidImageUrl(
            f"{host!r} resolves to a private or local address; this server does not fetch it"
        )
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return httpx.URL(urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))), host


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
            request = client.build_request(
                "GET", target, headers=headers, extensions={"sni_hostname": host}
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as error:
                raise InvalidImageUrl(f"the image URL could not be fetched: {error}") from None
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise InvalidImageUrl(
                        f"the image URL answered HTTP {response.status_code}, not an image"
                    )
                return await _read_capped(response, policy.max_bytes)
            finally:
                await response.aclose()
    raise InvalidImageUrl(f"the image URL redirected more than {policy.max_redirects} times")


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
