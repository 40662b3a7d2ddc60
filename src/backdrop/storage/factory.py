"""Builds the ImageStore the settings name (the bucket is created when missing)."""

from __future__ import annotations

from backdrop.settings import Settings
from backdrop.storage.image_store import ImageStore
from backdrop.storage.local import LocalImageStore


def build_store(settings: Settings) -> ImageStore:
    if settings.storage.backend == "s3":
        from backdrop.storage.s3 import S3ImageStore

        store = S3ImageStore(settings.storage, max_age_seconds=settings.lifetimes.image_seconds)
        store.ensure_bucket()
        return store
    return LocalImageStore(settings.files_dir)
