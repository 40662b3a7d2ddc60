"""The upload flow: grant a signed PUT, receive and verify the bytes, resolve image URLs."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from backdrop.common.clock import Clock, utcnow
from backdrop.db.models import StoredImage
from backdrop.db.session import Database
from backdrop.errors import (
    ImageNotFound,
    InvalidImageUrl,
    InvalidRequest,
    InvalidSignature,
    PayloadTooLarge,
    UnsupportedMediaType,
    UploadSizeMismatch,
)
from backdrop.imaging.decode import check_image, inspect_file
from backdrop.imaging.formats import EXTENSION_BY_TYPE
from backdrop.imaging.inspect import ImageInfo, inspect_image
from backdrop.imaging.isolation import DecodePool
from backdrop.settings import Settings
from backdrop.storage.image_store import ImageStore
from backdrop.uploads.signing import UploadGrant, UploadSigner

UPLOAD_PREFIX = "uploads"
# image/jpg is not a registered type but clients send it; it means JPEG.
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}


@dataclass(frozen=True)
class UploadTicket:
    """What uploadImageUrl answers, before URLs are attached by the transport."""

    grant: UploadGrant
    signature: str
    # A URL straight into the bucket (S3 mode); None: the client PUTs to the API node.
    direct_url: str | None = None


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def normalise_content_type(content_type: str) -> str:
    """Lower-case type without parameters; aliases folded; unsupported types refused."""
    value = content_type.split(";", 1)[0].strip().lower()
    value = _TYPE_ALIASES.get(value, value)
    if value not in EXTENSION_BY_TYPE:
        supported = ", ".join(sorted(EXTENSION_BY_TYPE))
        raise UnsupportedMediaType(
            f"contentType {content_type!r} is not supported; use {supported}"
        )
    return value


@dataclass(frozen=True)
class ServedImage:
    """How GET /images/... answers: a local file, or a redirect to the bucket."""

    content_type: str
    path: Path | None
    redirect: str | None


class Uploads:
    def __init__(
        self,
        db: Database,
        store: ImageStore,
        signer: UploadSigner,
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._store = store
        self._signer = signer
        self._settings = settings
        self._clock = clock
        # Object keys whose PUT is streaming in this process.
        self._receiving: set[str] = set()
        # Uploads are decoded here, never on the threads that answer requests.
        limits = settings.limits
        self._decodes = DecodePool(limits.decode_workers, limits.decode_seconds)

    def request_upload(self, key_id: str, size: int, content_type: str) -> UploadTicket:
        """Reserve an object key for `key_id` and sign a PUT for exactly `size` bytes."""
        content_type = normalise_content_type(content_type)
        limit = self._settings.limits.max_upload_bytes
        if size > limit:
            raise PayloadTooLarge(f"size {size} exceeds the limit of {limit} bytes")
        if size < 1:
            raise InvalidRequest("size must be at least 1 byte")
        # A URL for bytes the disk cannot hold would only fail at the PUT: 507 now.
        self._store.check_room(size)
        now = self._clock()
        object_key = f"{UPLOAD_PREFIX}/{secrets.token_hex(16)}.{EXTENSION_BY_TYPE[content_type]}"
        expires = int(now.timestamp()) + self._settings.lifetimes.upload_url_seconds
        grant = UploadGrant(key_id, object_key, size, content_type, expires)
        with self._db.unit_of_work() as session:
            session.add(
                StoredImage(
                    key=object_key,
                    api_key_id=key_id,
                    content_type=content_type,
                    size=size,
                    uploaded=False,
                    created_at=now,
                    expires_at=now + timedelta(seconds=self._settings.lifetimes.image_seconds),
                )
            )
        direct = self._store.upload_url(
            object_key, content_type, size, self._settings.lifetimes.upload_url_seconds
        )
        return UploadTicket(grant, self._signer.sign(grant), direct)

    async def receive(
        self,
        grant: UploadGrant,
        signature: str,
        content_type: str | None,
        content_length: int | None,
        body: AsyncIterator[bytes],
    ) -> None:
        """A client's PUT to a signed upload URL: check the signature, the headers and that
        the URL is unused, then stream, verify and keep the image. Nothing of the body is
        read before those checks."""
        self._signer.verify(grant, signature, self._clock().timestamp())
        if self._store.direct_uploads:
            raise InvalidRequest("uploads go straight to the bucket: PUT to the uploadImage URL")
        if content_type is not None and normalise_content_type(content_type) != grant.content_type:
            raise UnsupportedMediaType(
                f"Content-Type {content_type!r} differs from the signed {grant.content_type!r}"
            )
        if content_length is not None and content_length != grant.size:
            if content_length > grant.size:
                raise PayloadTooLarge(
                    f"Content-Length {content_length} exceeds the signed size {grant.size}"
                )
            raise UploadSizeMismatch(
                f"Content-Length {content_length} differs from the signed size {grant.size}"
            )
        await self._take(grant, body)

    async def keep(self, key_id: str, data: bytes, content_type: str) -> str:
        """Keep bytes a one-call route was sent as an upload of `key_id`; its object key."""
        ticket = await asyncio.to_thread(self.request_upload, key_id, len(data), content_type)
        await self._take(ticket.grant, _once(data))
        return ticket.grant.object_key

    async def _take(self, grant: UploadGrant, body: AsyncIterator[bytes]) -> None:
        """Stage the body, verify the image and keep it, once per upload URL."""
        # Database work runs off the event loop: SQLite may wait on a lock.
        await asyncio.to_thread(self._check_unused, grant.object_key)
        # An upload URL works once: a second PUT while the first streams is refused too.
        if grant.object_key in self._receiving:
            raise InvalidSignature("this upload URL is being used by another request")
        self._receiving.add(grant.object_key)
        try:
            staged = await self._store.receive(body, grant.size)
            try:
                info = await self._check(staged, grant.content_type)
                await asyncio.to_thread(
                    self._store.commit, staged, grant.object_key, grant.content_type
                )
            finally:
                self._store.discard(staged)
            await asyncio.to_thread(self._mark_uploaded, grant.object_key, info.size)
        finally:
            self._receiving.discard(grant.object_key)

    async def _check(self, staged: Path, content_type: str) -> ImageInfo:
        """Inspect the container, then decode every pixel in the bounded, timed pool."""
        max_pixels = self._settings.limits.max_pixels
        # The cheap look first: a file shaped to be slow is refused without taking a slot.
        await asyncio.to_thread(inspect_file, staged, content_type, max_pixels=max_pixels)
        return await self._decodes.run_async(
            check_image, staged, content_type, max_pixels=max_pixels
        )

    def _check_unused(self, object_key: str) -> None:
        with self._db.unit_of_work() as session:
            image = session.get(StoredImage, object_key)
            if image is None:  # swept after the grant was made
                raise ImageNotFound("this upload has expired; ask for a new upload URL")
            if image.uploaded:
                raise InvalidSignature("this upload URL was used already; ask for a new one")

    def _mark_uploaded(self, object_key: str, size: tuple[int, int]) -> None:
        with self._db.unit_of_work() as session:
            image = session.get(StoredImage, object_key)
            if image is None:  # swept after the grant was made
                self._store.delete(object_key)
                raise ImageNotFound("this upload has expired; ask for a new upload URL")
            image.uploaded = True
            image.width, image.height = size

    def owned_image(self, key_id: str, object_key: str) -> StoredImage:
        """The uploaded, unexpired image `object_key` if it belongs to `key_id`."""
        with self._db.unit_of_work() as session:
            image = session.get(StoredImage, object_key)
            if image is None or image.api_key_id != key_id:
                raise InvalidImageUrl("this imageUrl was not issued to this API key")
            if image.expires_at <= self._clock():
                raise InvalidImageUrl("this imageUrl has expired (images live 24 hours)")
            if not image.uploaded:
                self._check_direct_upload(image)
                image.uploaded = True
            return image

    def _check_direct_upload(self, image: StoredImage) -> None:
        """An upload that went straight to the bucket is seen here for the first time: it
        must be there, of the signed size. Its bytes are checked by the worker."""
        # A store without direct uploads only has files its own PUT verified (and marked).
        size = self._store.size(image.key) if self._store.direct_uploads else None
        if size is None:
            raise InvalidImageUrl("nothing has been uploaded to this imageUrl yet")
        if size != image.size:
            raise UploadSizeMismatch(
                f"the upload has {size} bytes; the upload URL was signed for {image.size}"
            )

    def image_size(self, key_id: str, object_key: str) -> tuple[int, int]:
        """Width and height of an uploaded image of `key_id`, from its header only."""
        # Another key's image URL is refused before anything of it is read.
        image = self.owned_image(key_id, object_key)
        if image.width is not None and image.height is not None:
            return image.width, image.height  # kept when its upload was checked
        # From the container only: a direct upload to a bucket has not been verified yet.
        data = self._store.read(object_key)
        return inspect_image(data, max_pixels=self._settings.limits.max_pixels).size

    def public_image(self, object_key: str) -> ServedImage:
        """An image as served by GET: any holder of the URL may read it until it expires.

        From a bucket it is a presigned GET that ends when the image does (24 h after it was
        made), so a redirect followed late still stops working on time.
        """
        with self._db.unit_of_work() as session:
            image = session.get(StoredImage, object_key)
            now = self._clock()
            if image is None or image.expires_at <= now:
                raise ImageNotFound("no such image, or it has expired")
            uploaded = image.uploaded
        remaining = int((image.expires_at - now).total_seconds())
        redirect = self._store.download_url(object_key, remaining)
        if redirect is not None:
            # A direct upload becomes visible here before any order was made from it.
            if not uploaded and self._store.size(object_key) is None:
                raise ImageNotFound("no such image, or it has expired")
            return ServedImage(image.content_type, None, redirect)
        path = self._store.local_path(object_key) if uploaded else None
        if path is None:
            raise ImageNotFound("no such image, or it has expired")
        return ServedImage(image.content_type, path, None)

    def expires_at(self) -> datetime:
        return self._clock() + timedelta(seconds=self._settings.lifetimes.image_seconds)
