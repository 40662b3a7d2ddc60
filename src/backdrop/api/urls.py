"""The URLs backdrop hands out, and the mapping of incoming image URLs back to object keys.

backdrop never fetches a URL: an imageUrl or background URL is accepted only when it points
at this server's own /images/ path, and is then read from the store by its key.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from fastapi import Request

from backdrop.errors import BackdropError, InvalidImageUrl
from backdrop.settings import Settings
from backdrop.storage.object_keys import validate_key
from backdrop.uploads.signing import UploadGrant

IMAGES_PATH = "/images/"


def base_urls(request: Request, settings: Settings) -> list[str]:
    """Bases this server answers to: the public URL first (when set), then the request's own."""
    bases = [settings.public_url.rstrip("/")] if settings.public_url else []
    bases.append(str(request.base_url).rstrip("/"))
    return bases


def image_url(base: str, key: str) -> str:
    return f"{base}{IMAGES_PATH}{key}"


def upload_url(base: str, grant: UploadGrant, signature: str) -> str:
    query = urlencode(
        {
            "keyId": grant.key_id,
            "size": grant.size,
            "contentType": grant.content_type,
            "expires": grant.expires,
            "signature": signature,
        }
    )
    return f"{image_url(base, grant.object_key)}?{query}"


def looks_like_url(value: str) -> bool:
    text = value.strip().lower()
    return "://" in text or text.startswith(("//", "www."))


def key_from_image_url(url: str, bases: list[str]) -> str:
    """The object key behind one of our image URLs; anything else is refused, never fetched."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "http://[::1/x": a bracket left open
        raise InvalidImageUrl("the image URL is malformed") from None
    for base in bases:
        base_parts = urlsplit(base)
        prefix = base_parts.path.rstrip("/") + IMAGES_PATH
        if (
            parts.scheme.lower() == base_parts.scheme.lower()
            and parts.netloc.lower() == base_parts.netloc.lower()
            and parts.path.startswith(prefix)
        ):
            try:
                return validate_key(parts.path[len(prefix) :])
            except BackdropError:
                break
    raise InvalidImageUrl(
        "imageUrl must be an image URL issued by this server's uploadImageUrl; "
        "external URLs are not fetched"
    )
