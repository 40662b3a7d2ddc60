"""orders: operation and status as enums, and a failure_code beside failure_reason

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:00.000000

Storage: the columns stay VARCHAR of their former widths and gain named CHECK constraints
(models.stored_enum), on PostgreSQL as on SQLite, rather than PostgreSQL native ENUM types:
failure codes will grow, and a new value is then a constraint dropped and re-added inside the
migration's transaction, whereas `ALTER TYPE ... ADD VALUE` cannot be used in the
transaction that adds it and a native type's values can never be removed. It also keeps one
schema and one migration path for both backends, and no column changes type: PostgreSQL only
validates the constraints, with no table rewrite, and the indexes on (operation, status,
finished_at) and (status) are untouched. SQLite cannot add a constraint in place, so batch
mode copies the table (alembic carries the indexes over).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as of this revision, written out rather than read from backdrop.kinds: a member
# added later needs its own migration, and this one must keep creating what it created.
OPERATIONS = ("remove-background", "background-generator", "product-photoshoot")
STATUSES = ("init", "active", "failed")
FAILURE_CODES = (
    "invalid-image",
    "image-gone",
    "credits-consumed",
    "engine-unavailable",
    "not-queued",
    "interrupted",
    "storage-failed",
    "storage-full",
    "processing-failed",
    "cancelled",
)
# The one reason that names its cause exactly (orders/lifecycle.py, when the balance could
# not pay); every other failure before this revision was the engine's, or unknown.
CREDITS_REASON = "API credits consumed"


def _one_of(column: str, values: Sequence[str]) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({listed})"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        # Wider than today's longest code so that a longer new one needs no column change.
        batch.add_column(sa.Column("failure_code", sa.String(length=40), nullable=True))
        # The names match models.stored_enum's, so later migrations can find them to swap.
        batch.create_check_constraint("ck_orders_operation", _one_of("operation", OPERATIONS))
        batch.create_check_constraint("ck_orders_status", _one_of("status", STATUSES))
        batch.create_check_constraint(
            "ck_orders_failure_code", _one_of("failure_code", FAILURE_CODES)
        )

    orders = sa.table(
        "orders",
        sa.column("status", sa.String),
        sa.column("failure_reason", sa.Text),
        sa.column("failure_code", sa.String),
    )
    op.execute(
        orders.update()
        .where(orders.c.status == "failed", orders.c.failure_code.is_(None))
        .values(
            failure_code=sa.case(
                (orders.c.failure_reason == CREDITS_REASON, "credits-consumed"),
                else_="processing-failed",
            )
        )
    )


def downgrade() -> None:
    # The codes are lost; failure_reason still says why each order failed, and an upgrade
    # derives the codes again from it.
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("ck_orders_failure_code", type_="check")
        batch.drop_constraint("ck_orders_status", type_="check")
        batch.drop_constraint("ck_orders_operation", type_="check")
        batch.drop_column("failure_code")
