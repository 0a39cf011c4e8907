"""Initial schema: the decision log and the policy documents the service fetched.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 01:06:05.200313
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_document")),
        sa.UniqueConstraint("sha256", name=op.f("uq_policy_document_sha256")),
    )
    op.create_table(
        "policy_fetch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=320), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["policy_document.id"],
            name=op.f("fk_policy_fetch_document_id_policy_document"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_fetch")),
    )
    with op.batch_alter_table("policy_fetch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_fetch_origin"), ["origin"], unique=False)

    op.create_table(
        "decision",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job", sa.String(length=200), nullable=False),
        sa.Column("crawler", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("crawl_delay", sa.Float(), nullable=True),
        sa.Column("robots_fetch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["robots_fetch_id"],
            ["policy_fetch.id"],
            name=op.f("fk_decision_robots_fetch_id_policy_fetch"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_decision")),
        sa.UniqueConstraint("id", name=op.f("uq_decision_id")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_host"), ["host"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_job"), ["job"], unique=False)

    op.create_table(
        "observation",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_observation_decision_id_decision")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_observation")),
        sa.UniqueConstraint("id", name=op.f("uq_observation_id")),
    )
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observation_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_observation_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_observation_host"), ["host"], unique=False)
        batch_op.create_index(batch_op.f("ix_observation_job"), ["job"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observation_job"))
        batch_op.drop_index(batch_op.f("ix_observation_host"))
        batch_op.drop_index(batch_op.f("ix_observation_decision_id"))
        batch_op.drop_index(batch_op.f("ix_observation_created_at"))

    op.drop_table("observation")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_job"))
        batch_op.drop_index(batch_op.f("ix_decision_host"))
        batch_op.drop_index(batch_op.f("ix_decision_created_at"))

    op.drop_table("decision")
    with op.batch_alter_table("policy_fetch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_fetch_origin"))

    op.drop_table("policy_fetch")
    op.drop_table("policy_document")
