"""Migrations keep every row, on SQLite and PostgreSQL, and the models match what they build.

Rows are written with raw SQL in the shape of the revision a database stood at (its columns,
read back from the database, bound with the types that revision gave them), as an older
release would have left them; they are then read through today's ORM models.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Engine, bindparam, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from backdrop.db.migrate import alembic_config, downgrade, upgrade
from backdrop.db.models import ApiKey, Base, Order, StoredImage
from backdrop.db.session import make_engine
from backdrop.kinds import FailureCode, Operation, OrderStatus

SCRIPTS = ScriptDirectory.from_config(alembic_config("sqlite://"))
HEAD: str = SCRIPTS.get_current_head() or "base"
# Oldest first: 0001, 0002, ... (a straight line; test_models_match_the_migrated_schema
# checks there is one head).
REVISIONS = [script.revision for script in reversed(list(SCRIPTS.walk_revisions()))]
PREVIOUS: dict[str, str] = {
    script.revision: str(script.down_revision or "base") for script in SCRIPTS.walk_revisions()
}
CREDITS_REASON = "API credits consumed"

T0 = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# Every column any revision has had, named as at head; each revision gets the ones it has.
API_KEYS: list[dict[str, Any]] = [
    {
        "id": "key-live",
        "name": "live key",
        "secret_hash": "a" * 64,
        "credit_cents": 1250,
        "created_at": at(0),
        "revoked_at": None,
    },
    {
        "id": "key-revoked",
        "name": "revoked key",
        "secret_hash": "b" * 64,
        "credit_cents": 0,
        "created_at": at(1),
        "revoked_at": at(90),
    },
]
IMAGES: list[dict[str, Any]] = [
    {
        "key": "uploads/key-live/photo.jpg",
        "api_key_id": "key-live",
        "content_type": "image/jpeg",
        "size": 48_213,
        "uploaded": True,
        "created_at": at(2),
        "expires_at": at(2 + 1440),
    },
    {
        # A presigned upload never delivered.
        "key": "uploads/key-live/pending.png",
        "api_key_id": "key-live",
        "content_type": "image/png",
        "size": 1_000,
        "uploaded": False,
        "created_at": at(3),
        "expires_at": at(3 + 1440),
    },
    {
        "key": "results/order-active/output.png",
        "api_key_id": "key-live",
        "content_type": "image/png",
        "size": 90_001,
        "uploaded": True,
        "created_at": at(5),
        "expires_at": at(5 + 1440),
    },
]


def _order(order_id: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": order_id,
        "api_key_id": "key-live",
        "operation": "remove-background",
        "status": "init",
        "input_key": "uploads/key-live/photo.jpg",
        "params": {"background": "#123456", "format": "png"},
        "cost_cents": 50,
        "charged_cents": 0,
        "output_key": None,
        "mask_key": None,
        "failure_reason": None,
        "failure_code": None,
        "attempts": 0,
        "lease_owner": None,
        "lease_expires_at": None,
        "created_at": at(4),
        "finished_at": None,
        "expires_at": at(4 + 1440),
    }
    row.update(fields)
    return row


ORDERS: list[dict[str, Any]] = [
    # Being run by a worker: its lease (from 0002) says which and until when.
    _order(
        "order-running",
        attempts=1,
        lease_owner="worker-1:run-abc",
        lease_expires_at=at(6),
    ),
    # Queued, not yet taken.
    _order("order-queued", operation="product-photoshoot", cost_cents=100, params={"prompt": "a"}),
    _order(
        "order-active",
        charged_cents=50,
        output_key="results/order-active/output.png",
        mask_key="results/order-active/mask.png",
        attempts=1,
        finished_at=at(5),
    ),
    _order(
        "order-generated",
        operation="background-generator",
        status="active",
        cost_cents=100,
        charged_cents=100,
        params={"prompt": "a beach at dawn", "engine": "studio"},
        output_key="results/order-generated/output.png",
        attempts=2,
        finished_at=at(7),
    ),
    # The balance could not pay when it finished: the one reason with a code of its own.
    _order(
        "order-no-credits",
        operation="product-photoshoot",
        status="failed",
        cost_cents=100,
        failure_reason=CREDITS_REASON,
        failure_code="credits-consumed",
        attempts=1,
        finished_at=at(8),
    ),
    _order(
        "order-unreadable",
        status="failed",
        failure_reason="could not read the image",
        failure_code="invalid-image",
        attempts=1,
        finished_at=at(9),
    ),
    # Near the credits reason but not it: processing-failed, like any other reason.
    _order(
        "order-credits-lookalike",
        status="failed",
        failure_reason="api credits consumed",
        failure_code="storage-failed",
        attempts=1,
        finished_at=at(10),
    ),
    _order(
        "order-failed-no-reason",
        api_key_id="key-revoked",
        operation="background-generator",
        status="failed",
        cost_cents=100,
        failure_code="interrupted",
        attempts=3,
        finished_at=at(11),
    ),
]
ROWS: dict[str, list[dict[str, Any]]] = {
    "api_keys": API_KEYS,
    "images": IMAGES,
    "orders": ORDERS,
}
MODELS: dict[str, type[Base]] = {"api_keys": ApiKey, "images": StoredImage, "orders": Order}


def derived_failure_code(order: Mapping[str, Any]) -> FailureCode | None:
    """What 0004 writes for an order that had no failure_code column."""
    if order["status"] != "failed":
        return None
    if order["failure_reason"] == CREDITS_REASON:
        return FailureCode.CREDITS_CONSUMED
    return FailureCode.PROCESSING_FAILED


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (a new SQLite file, or a new PostgreSQL database dropped after),
    through make_engine as the server opens it: on SQLite, foreign keys are enforced."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def migrate(engine: Engine, revision: str) -> None:
    """Upgrade or downgrade, whichever reaches `revision` (migrate.py's own entry points)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision() or "base"
    order = ["base", *REVISIONS]
    if order.index(revision) >= order.index(current):
        upgrade(engine, revision)
    else:
        downgrade(engine, revision)


def columns(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as connection:
        inspector = inspect(connection)
        return {
            table: {column["name"] for column in inspector.get_columns(table)}
            for table in ROWS
            if inspector.has_table(table)
        }


def seed(engine: Engine) -> None:
    """Insert ROWS with plain INSERTs naming only the columns the database has now, each
    bound with the type the current revision gave it (JSON, timestamps, booleans)."""
    with engine.begin() as connection:
        for table, rows in ROWS.items():  # parents first
            types = {c["name"]: c["type"] for c in inspect(connection).get_columns(table)}
            names = [name for name in rows[0] if name in types]
            statement = text(
                f"INSERT INTO {table} ({', '.join(names)}) "
                f"VALUES ({', '.join(':' + name for name in names)})"
            ).bindparams(*(bindparam(name, type_=types[name]) for name in names))
            connection.execute(statement, [{name: row[name] for name in names} for row in rows])


def assert_rows_read_back(engine: Engine, kept: Mapping[str, set[str]]) -> None:
    """Every seeded row is there, read through the ORM: columns in `kept` hold what was
    written, the others their empty value, and failure_code is derived where it was not kept."""
    with Session(engine) as session:
        for table, rows in ROWS.items():
            model = MODELS[table]
            key_column = inspect(model).primary_key[0].name
            found = {
                getattr(instance, key_column): instance
                for instance in session.scalars(select(model))
            }
            assert set(found) == {row[key_column] for row in rows}, table
            for row in rows:
                instance = found[row[key_column]]
                for column in model.__table__.columns:
                    name = column.name
                    if name in kept[table]:
                        expected = row[name]
                    elif name == "failure_code":
                        expected = derived_failure_code(row)
                    else:
                        expected = None
                    assert getattr(instance, name) == expected, (table, row[key_column], name)

        for order in session.scalars(select(Order)):
            # Members, not the strings they equal.
            assert type(order.status) is OrderStatus
            assert type(order.operation) is Operation
            assert order.failure_code is None or type(order.failure_code) is FailureCode
        # Queries by member or by plain string, as code does both.
        failed = {OrderStatus.FAILED, "failed"}
        for value in failed:
            ids = session.scalars(select(Order.id).where(Order.status == value)).all()
            assert sorted(ids) == sorted(o["id"] for o in ORDERS if o["status"] == "failed")


def assert_indexes(engine: Engine) -> None:
    with engine.connect() as connection:
        indexes = {index["name"]: index for index in inspect(connection).get_indexes("orders")}
    finished = indexes["ix_orders_operation_status_finished"]
    assert finished["column_names"] == ["operation", "status", "finished_at"]
    assert indexes["ix_orders_status"]["column_names"] == ["status"]


@pytest.mark.parametrize("start", REVISIONS[:-1])
def test_upgrade_from_each_revision_keeps_every_row(engine: Engine, start: str) -> None:
    migrate(engine, start)
    kept = columns(engine)
    seed(engine)

    migrate(engine, HEAD)

    assert_rows_read_back(engine, kept)
    assert_indexes(engine)


@pytest.mark.parametrize("revision", REVISIONS[1:])
def test_downgrade_one_revision_and_upgrade_again_keeps_rows(engine: Engine, revision: str) -> None:
    """From each revision, a step back and up to head again: every row survives; only the
    columns the undone revision added lose their values (they did not exist below it).
    0001 is left out: its downgrade drops the tables themselves."""
    migrate(engine, revision)
    seed(engine)
    migrate(engine, PREVIOUS[revision])
    kept = columns(engine)

    migrate(engine, HEAD)

    assert_rows_read_back(engine, kept)
    assert_indexes(engine)


def test_fresh_database_stores_members_and_plain_strings(engine: Engine) -> None:
    """From base (no tables) to head, then written through the ORM as the services write:
    plain strings (OrderStatus.INIT.value) and members alike; read back as members."""
    migrate(engine, HEAD)
    with Session(engine) as session, session.begin():
        session.add(ApiKey(**API_KEYS[0]))
        session.add(StoredImage(**IMAGES[0]))
        plain = dict(ORDERS[0], id="plain", status=OrderStatus.INIT.value)
        plain["operation"] = Operation.GENERATE_BACKGROUND.value
        members = dict(ORDERS[0], id="members", status=OrderStatus.INIT)
        members["operation"] = Operation.PRODUCT_PHOTOSHOOT
        session.add_all([Order(**plain), Order(**members)])
    with Session(engine) as session, session.begin():
        failing = session.get_one(Order, "plain")
        failing.status = OrderStatus.FAILED.value  # type: ignore[assignment]
        failing.failure_code = FailureCode.NOT_QUEUED.value  # type: ignore[assignment]
        session.get_one(Order, "members").status = OrderStatus.ACTIVE

    with Session(engine) as session:
        failed = session.get_one(Order, "plain")
        assert failed.status is OrderStatus.FAILED
        assert failed.operation is Operation.GENERATE_BACKGROUND
        assert failed.failure_code is FailureCode.NOT_QUEUED
        done = session.get_one(Order, "members")
        assert done.status is OrderStatus.ACTIVE and done.failure_code is None
        assert done.operation is Operation.PRODUCT_PHOTOSHOOT
        # StrEnum: members still equal the strings older code compares them with.
        assert {failed.status, done.operation} == {"failed", "product-photoshoot"}

    # A string outside the enum is refused in Python (LookupError), before the database's
    # CHECK would refuse it with a less telling IntegrityError.
    with Session(engine) as session, session.begin():
        session.get_one(Order, "members").status = "done"  # type: ignore[assignment]
        with pytest.raises(StatementError, match="done") as refused:
            session.flush()
        assert isinstance(refused.value.orig, LookupError)


@dataclass(frozen=True)
class EnumColumn:
    name: str
    constraint: str
    values: frozenset[str]


ENUM_COLUMNS = [
    EnumColumn("operation", "ck_orders_operation", frozenset(Operation)),
    EnumColumn("status", "ck_orders_status", frozenset(OrderStatus)),
    EnumColumn("failure_code", "ck_orders_failure_code", frozenset(FailureCode)),
]


def test_models_match_the_migrated_schema(engine: Engine) -> None:
    """A model changed without a migration fails here: alembic's autogenerate comparison
    (tables, columns, types, nullability, indexes) finds nothing to do, and the CHECK
    constraints, which it does not compare, allow exactly the enums' values."""
    migrate(engine, HEAD)
    assert len(SCRIPTS.get_heads()) == 1

    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

        reflected = {
            check["name"]: check["sqltext"]
            for check in inspect(connection).get_check_constraints("orders")
        }
    modelled = {
        constraint.name
        for constraint in Order.__table__.constraints  # type: ignore[attr-defined]
        if isinstance(constraint, CheckConstraint)
    }
    assert set(reflected) == modelled == {column.constraint for column in ENUM_COLUMNS}
    for column in ENUM_COLUMNS:
        # SQLite keeps the SQL as written; PostgreSQL as = ANY (ARRAY['a'::varchar, ...]).
        assert set(re.findall(r"'([^']*)'", reflected[column.constraint])) == column.values


@pytest.mark.parametrize("column", ENUM_COLUMNS, ids=lambda column: column.name)
def test_database_refuses_values_outside_the_enum(engine: Engine, column: EnumColumn) -> None:
    """Raw SQL, past the ORM's own check: every member is stored, anything else refused."""
    migrate(engine, HEAD)
    seed(engine)
    order_id = "order-unreadable"
    update = text(f"UPDATE orders SET {column.name} = :value WHERE id = :id")
    for value in sorted(column.values):
        with engine.begin() as connection:
            connection.execute(update, {"value": value, "id": order_id})
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(update, {"value": "bogus", "id": order_id})
