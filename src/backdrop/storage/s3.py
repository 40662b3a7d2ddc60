"""ImageStore in an S3-compatible bucket (AWS, MinIO, R2, moto, ...) through boto3.

Clients upload straight into the bucket with presigned PUTs and read through presigned GETs,
so image bytes never pass through an API node.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backdrop.errors import ImageNotFound, ServiceUnavailable
from backdrop.settings import StorageSettings
from backdrop.storage import staging
from backdrop.storage.object_keys import validate_key

log = logging.getLogger(__name__)

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
# S3 caps presigned URLs at 7 days.
_MAX_PRESIGN_SECONDS = 7 * 24 * 3600


def _code(error: Exception) -> str:
    response: dict[str, Any] = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3ImageStore:
    """Objects in one bucket, addressed by the same validated keys as the local store."""

    # Clients PUT straight into the bucket; bytes a node receives itself (remove.bg's one-call
    # API) are staged in a local temporary folder, then sent in one PUT.
    direct_uploads = True

    def __init__(self, settings: StorageSettings, *, max_age_seconds: float) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = settings.bucket
        # Objects outlive their rows by at most this: every image expires after 24 h, so
        # anything older was left by a crash between a write and its row.
        self._max_age_seconds = max_age_seconds
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url,
            region_name=settings.region,
            # Path-style addressing works on every S3-compatible server, including ones on
            # localhost where bucket.host names do not resolve.
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (two nodes racing here is fine)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except Exception as error:
            if _code(error) not in _MISSING:
                raise ServiceUnavailable(
                    f"the bucket {self.bucket!r} cannot be reached: {error}"
                ) from error
        region = self._client.meta.region_name
        params: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self._client.create_bucket(**params)
            log.info("created bucket %s", self.bucket)
        except Exception as error:
            if _code(error) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        head = self._head(key)
        return None if head is None else int(head["ContentLength"])

    def content_type(self, key: str) -> str | None:
        head = self._head(key)
        return None if head is None else (str(head.get("ContentType") or "") or None)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self._client.head_object(
                Bucket=self.bucket, Key=validate_key(key)
            )
        except Exception as error:
            if _code(error) in _MISSING:
                return None
            raise
        return head

    def read(self, key: str) -> bytes:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=validate_key(key))
        except Exception as error:
            if _code(error) in _MISSING:
                raise ImageNotFound(f"no such image: {key}") from None
            raise
        data: bytes = answer["Body"].read()
        return data

    def write(self, key: str, data: bytes, content_type: str = "") -> None:
        # A PUT is atomic in S3: readers see the old object or the whole new one.
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": validate_key(key), "Body": data}
        if content_type:
            params["ContentType"] = content_type
        self._client.put_object(**params)

    async def receive(self, chunks: AsyncIterator[bytes], size: int) -> Path:
        return await staging.stage(chunks, size, Path(tempfile.gettempdir()) / "backdrop")

    def commit(self, staged: Path, key: str, content_type: str = "") -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self._client.upload_file(str(staged), self.bucket, validate_key(key), ExtraArgs=extra)
        staging.discard(staged)

    @staticmethod
    def discard(staged: Path) -> None:
        staging.discard(staged)

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    def check_room(self, size: int) -> None:
        # A bucket has no free space to read; a provider's limit shows in the PUT's answer.
        return None

    def upload_url(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        """A presigned PUT signed for this Content-Type and Content-Length, like LightX's."""
        url: str = self._client.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self.bucket,
                "Key": validate_key(key),
                "ContentType": content_type,
                "ContentLength": size,
            },
            ExpiresIn=min(expires_in, _MAX_PRESIGN_SECONDS),
        )
        return url

    def download_url(self, key: str, expires_in: int) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": validate_key(key)},
            ExpiresIn=max(1, min(expires_in, _MAX_PRESIGN_SECONDS)),
        )
        return url

    def local_path(self, key: str) -> Path | None:
        return None

    def sweep_orphans(self, older_than_seconds: float, now: float) -> int:
        """Delete objects older than any image may live (their rows are long gone)."""
        cutoff = datetime.fromtimestamp(now - self._max_age_seconds - older_than_seconds, UTC)
        removed = 0
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket):
            stale = [
                {"Key": item["Key"]}
                for item in page.get("Contents", [])
                if item["LastModified"] < cutoff
            ]
            if stale:
                self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": stale})
                removed += len(stale)
        return removed
