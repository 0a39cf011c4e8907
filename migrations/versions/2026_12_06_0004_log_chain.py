"""The log as one hash-chained, append-only sequence (``log_chain``).

Every decision, observation and policy fetch written from now on gets a row here, in commit
order, with the sha256 of its canonical encoding and a chain value that commits to every row
before it (docs/audit-log.md). The first row, ``genesis``, records how far each table went when
the chain started: rows up to there were written before it and are reported as not covered by
``verify``; any unchained row after it is an insertion.

The encoding of the genesis record is written out here, not imported, so that this revision
keeps meaning what it meant when it ran.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 23:00:00
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    log_chain = op.create_table(
        "log_chain",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_log_chain")),
        sa.UniqueConstraint("kind", "record_id", name=op.f("uq_log_chain_kind_record_id")),
    )
    connection = op.get_bind()
    before = {
        "type": "genesis",
        "decision_seq": connection.scalar(sa.text("SELECT COALESCE(MAX(seq), 0) FROM decision")),
        "observation_seq": connection.scalar(
            sa.text("SELECT COALESCE(MAX(seq), 0) FROM observation")
        ),
        "fetch_id": connection.scalar(sa.text("SELECT COALESCE(MAX(id), 0) FROM policy_fetch")),
    }
    encoded = json.dumps(before, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(encoded.encode("utf-8")).digest()
    chain = hashlib.sha256(bytes(32) + digest).hexdigest()
    op.bulk_insert(
        log_chain,
        [
            {
                "kind": "genesis",
                "record_id": encoded,
                "digest": digest.hex(),
                "chain": chain,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("log_chain")
