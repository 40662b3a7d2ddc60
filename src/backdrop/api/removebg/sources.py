"""Where a remove.bg request's images come from: a file, base64 text or a URL.

Every image becomes an upload of the calling key, exactly as if it had come through
uploadImageUrl + PUT (same checks, same 24 h lifetime), so the order that follows is an
ordinary remove-background order.
"""

from __future__ import annotations

import base64
import binascii

from backdrop.api.urls import key_from_image_url
from backdrop.errors import BackdropError, InvalidRequest, UnsupportedMediaType
from backdrop.imaging.formats import SNIFF_LENGTH, describe_bytes, sniff_content_type
from backdrop.storage.fetch import FetchPolicy, fetch_image
from backdrop.uploads.service import Uploads


async def store_bytes(uploads: Uploads, key_id: str, data: bytes) -> str:
    """Keep `data` as an upload of `key_id`; returns its object key."""
    content_type = sniff_content_type(data[:SNIFF_LENGTH])
    if content_type is None:
        raise UnsupportedMediaType(
            f"the image is {describe_bytes(data[:SNIFF_LENGTH])}; send a JPEG, PNG, WebP or HEIC"
        )
    return await uploads.keep(key_id, data, content_type)


def decode_b64(text: str) -> bytes:
    # Clients often send a data URL ("data:image/png;base64,...") as it came from a browser.
    if text.startswith("data:"):
        if "," not in text:
            raise InvalidRequest("image_file_b64 is a data URL without its data (no comma)")
        payload = text.split(",", 1)[1]
    else:
        payload = text
    try:
        return base64.b64decode(payload.strip(), validate=False)
    except (binascii.Error, ValueError):
        raise InvalidRequest("image_file_b64 is not valid base64") from None


async def image_key(
    uploads: Uploads,
    key_id: str,
    bases: list[str],
    policy: FetchPolicy,
    *,
    file: bytes | None,
    b64: str | None,
    url: str | None,
) -> str:
    """The object key of the one image given as a file, base64 text or a URL."""
    given = [source for source in (file, b64, url) if source is not None]
    if len(given) != 1:
        raise InvalidRequest(
            "give exactly one of image_file, image_file_b64 and image_url"
            if given
            else "no image given: send image_file, image_file_b64 or image_url"
        )
    if file is not None:
        return await store_bytes(uploads, key_id, file)
    if b64 is not None:
        return await store_bytes(uploads, key_id, decode_b64(b64))
    assert url is not None
    return await url_key(uploads, key_id, bases, policy, url)


async def url_key(
    uploads: Uploads, key_id: str, bases: list[str], policy: FetchPolicy, url: str
) -> str:
    """This server's own image URL as its key; another URL fetched when the operator allows."""
    try:
        return key_from_image_url(url, bases)
    except BackdropError:
        pass  # not ours: the fetcher refuses it unless the operator allows its host
    return await store_bytes(uploads, key_id, await fetch_image(policy, url))
