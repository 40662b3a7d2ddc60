"""The tables: API keys, stored images (uploads and results) and orders."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backdrop.kinds import FailureCode, Operation, OrderStatus

__all__ = ["ApiKey", "Base", "Order", "StoredImage"]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the zone; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _values(kind: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in kind]


def stored_enum(kind: type[enum.StrEnum], *, name: str, length: int) -> Enum:
    """A column of `kind` stored as its values ("remove-background"), not its member names.

    VARCHAR plus a named CHECK constraint on every backend rather than PostgreSQL's native
    ENUM: a new member (failure codes will grow) is then a constraint dropped and re-added in
    the migration's transaction, whereas a value from `ALTER TYPE ... ADD VALUE` cannot be
    used in the transaction that adds it and a native type's values can never be removed;
    SQLite and PostgreSQL also keep one schema and one migration path (0004). `length` stays
    wider than today's longest value so that a longer new value needs no column rewrite.

    Writes take members or their plain string values (code still writes
    `OrderStatus.INIT.value`); an unknown string fails in Python (validate_strings) before the
    database's CHECK would refuse it. Reads return the members.
    """
    return Enum(
        kind,
        name=name,
        values_callable=_values,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=length,
    )


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # sha256 of the secret; the secret itself is shown once and never stored.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Hundredths of a credit, so that 0.5-credit charges stay exact integers.
    credit_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column()
    # Set by `backdrop keys revoke`: the key is refused from then on; its orders stay.
    revoked_at: Mapped[datetime | None] = mapped_column()


class StoredImage(Base):
    """A file in the image store that a key may refer to by URL: an upload or a result."""

    __tablename__ = "images"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(BigInteger)
    # False until the presigned PUT has delivered verified bytes.
    uploaded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # Set when the upload's pixels have been checked (None before, and for bucket uploads).
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()

    @property
    def megapixels(self) -> float | None:
        if self.width is None or self.height is None:
            return None
        return self.width * self.height / 1e6


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_operation_status_finished", "operation", "status", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    # Widths as the String columns had before 0004, which made them enums.
    operation: Mapped[Operation] = mapped_column(
        stored_enum(Operation, name="ck_orders_operation", length=40)
    )
    status: Mapped[OrderStatus] = mapped_column(
        stored_enum(OrderStatus, name="ck_orders_status", length=10), index=True
    )
    input_key: Mapped[str] = mapped_column(String(200))
    # Operation parameters as the client sent them, validated (background, prompt, ...).
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    charged_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    output_key: Mapped[str | None] = mapped_column(String(200))
    mask_key: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Why it failed, for code to act on (failure_reason says it to people); None unless failed.
    failure_code: Mapped[FailureCode | None] = mapped_column(
        stored_enum(FailureCode, name="ck_orders_failure_code", length=40)
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # The run holding the order (worker and run token) and until when; another run may take
    # it over only once the lease has expired (orders/lifecycle.py).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
