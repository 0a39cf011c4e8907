"""Signed checkpoints of the log's chain (``log_checkpoint``): the head at a sequence number,
signed with the service's Ed25519 key (docs/audit-log.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "log_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoint")),
    )
    with op.batch_alter_table("log_checkpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_checkpoint_seq"), ["seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("log_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_checkpoint_seq"))
    op.drop_table("log_checkpoint")
