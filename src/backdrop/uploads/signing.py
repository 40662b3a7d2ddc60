"""Signed upload URLs: an HMAC over who may upload what, how big, of which type, until when."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from backdrop.errors import BackdropError, InvalidSignature

# 32 bytes of randomness written as hex, or any passphrase at least this long.
MIN_SECRET_CHARS = 32


class MissingSigningSecret(BackdropError):
    """A scale-out node was started without the cluster's shared signing secret."""

    http_status = 500
    status_code = 5000
    message = "CONFIGURATION_ERROR"


def cluster_secret(value: str | None, data_dir_secret: Path, *, scale_out: bool) -> bytes:
    """The secret upload URLs are signed with.

    Scale-out nodes must accept each other's URLs, so they all need BACKDROP_SIGNING_SECRET;
    the embedded server keeps a generated one in its data dir.
    """
    if value is not None:
        if len(value) < MIN_SECRET_CHARS:
            raise MissingSigningSecret(
                f"BACKDROP_SIGNING_SECRET must be at least {MIN_SECRET_CHARS} characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
        return value.encode()
    if scale_out:
        raise MissingSigningSecret(
            "BACKDROP_SIGNING_SECRET is not set: every node of a cluster (the Celery queue or "
            "S3 storage) signs and checks upload URLs with the same secret, so each node must "
            "be given it; generate one with `python -c 'import secrets; "
            "print(secrets.token_hex(32))'`"
        )
    return load_or_create_secret(data_dir_secret)


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret: generated once, kept in the data dir, readable only by its owner."""
    if path.exists():
        secret = bytes.fromhex(path.read_text().strip())
        if len(secret) >= 32:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex())
    os.replace(tmp, path)
    return secret


@dataclass(frozen=True)
class UploadGrant:
    """What a signed upload URL allows."""

    key_id: str
    object_key: str
    size: int
    content_type: str
    expires: int


class UploadSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, grant: UploadGrant) -> str:
        fields = (grant.key_id, grant.object_key, grant.size, grant.content_type, grant.expires)
        message = "\n".join(str(field) for field in fields).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, grant: UploadGrant, signature: str, now: float) -> None:
        """Raise InvalidSignature unless `signature` matches `grant` and it has not expired."""
        # As bytes: compare_digest refuses str with non-ASCII characters (a forged URL may
        # carry any).
        if not hmac.compare_digest(self.sign(grant).encode(), signature.encode()):
            raise InvalidSignature("the upload URL's signature does not match")
        if now > grant.expires:
            raise InvalidSignature("the upload URL has expired; ask for a new one")
