"""API keys: created with a balance, stored hashed, looked up by the x-api-key header."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backdrop.accounts.credits import from_cents, to_cents
from backdrop.common.clock import Clock, utcnow
from backdrop.db.models import ApiKey
from backdrop.db.session import Database
from backdrop.errors import InvalidApiKey, InvalidRequest

SECRET_PREFIX = "bd_"


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    credits: float
    revoked: bool = False


@dataclass(frozen=True)
class NewKey:
    info: KeyInfo
    secret: str


def hash_secret(secret: str) -> str:
    # Secrets are 256 random bits, so a plain hash is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def create(self, name: str, credits: float) -> NewKey:
        if credits < 0:
            raise InvalidRequest("credits must not be negative")
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id=secrets.token_hex(8),
            name=name,
            secret_hash=hash_secret(secret),
            credit_cents=to_cents(credits),
            created_at=self._clock(),
        )
        with self._db.unit_of_work() as session:
            session.add(key)
        return NewKey(KeyInfo(key.id, key.name, credits), secret)

    def authenticate(self, secret: str | None) -> KeyInfo:
        """The key behind an x-api-key header value, or InvalidApiKey."""
        if not secret:
            raise InvalidApiKey("missing x-api-key header")
        with self._db.unit_of_work() as session:
            key = session.scalar(select(ApiKey).where(ApiKey.secret_hash == hash_secret(secret)))
            if key is None:
                raise InvalidApiKey(
                    "unknown API key; the server's operator creates keys with "
                    "`backdrop keys create`"
                )
            if key.revoked_at is not None:
                raise InvalidApiKey("this API key was revoked; ask the operator for a new one")
            return _info(key)

    def get(self, key_id: str) -> KeyInfo:
        with self._db.unit_of_work() as session:
            key = session.get(ApiKey, key_id)
            if key is None:
                raise InvalidApiKey("unknown API key")
            return _info(key)

    def revoke(self, id_or_name: str) -> KeyInfo:
        """Refuse the key from now on; its orders and images stay until they expire."""
        with self._db.unit_of_work() as session:
            key = self._find(session, id_or_name)
            if key.revoked_at is None:
                key.revoked_at = self._clock()
            return _info(key)

    def add_credits(self, id_or_name: str, credits: float) -> KeyInfo:
        """Top a key up by `credits` (> 0); returns the new balance."""
        if not credits > 0:
            raise InvalidRequest("credits to add must be more than 0")
        with self._db.unit_of_work() as session:
            key = self._find(session, id_or_name, for_update=True)
            key.credit_cents += to_cents(credits)
            return _info(key)

    @staticmethod
    def _find(session: Session, id_or_name: str, *, for_update: bool = False) -> ApiKey:
        """The key with this id, else the one key with this name."""
        query = select(ApiKey).where((ApiKey.id == id_or_name) | (ApiKey.name == id_or_name))
        if for_update:
            query = query.with_for_update()
        keys = session.scalars(query).all()
        by_id = [key for key in keys if key.id == id_or_name]
        if by_id:
            return by_id[0]
        if len(keys) > 1:
            ids = ", ".join(key.id for key in keys)
            raise InvalidRequest(f"{len(keys)} keys are named {id_or_name!r}; give an id: {ids}")
        if not keys:
            raise InvalidApiKey(f"no key with the id or name {id_or_name!r} (see `keys list`)")
        return keys[0]

    def list(self) -> list[KeyInfo]:
        with self._db.unit_of_work() as session:
            keys = session.scalars(select(ApiKey).order_by(ApiKey.created_at)).all()
            return [_info(key) for key in keys]

    def count(self) -> int:
        with self._db.unit_of_work() as session:
            return session.scalar(select(func.count()).select_from(ApiKey)) or 0


def _info(key: ApiKey) -> KeyInfo:
    return KeyInfo(key.id, key.name, from_cents(key.credit_cents), key.revoked_at is not None)
