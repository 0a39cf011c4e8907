"""Record the name of the API key behind every decision and observation (tenancy).

Rows written before this revision get the key name ``""``: nobody's, readable only with the
``audit`` scope.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("decision", "observation")


def upgrade() -> None:
    for table in _TABLES:
        # The server default fills existing rows, then goes: new rows must name their key.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("api_key", sa.String(length=100), nullable=False, server_default="")
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("api_key", server_default=None)
            batch_op.create_index(batch_op.f(f"ix_{table}_api_key"), ["api_key"], unique=False)


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_api_key"))
            batch_op.drop_column("api_key")
