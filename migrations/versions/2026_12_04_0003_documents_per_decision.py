"""Every policy document behind a decision; the crawl's purposes; licences; asset extracts.

A decision used to point at its robots.txt fetch only (``robots_fetch_id``, kept). Now each
decision links to every policy document it read (``decision_document``: robots.txt,
tdmrep.json, ai.txt, RSL licences), records the purposes it was decided for and the licence URLs
it found, and an observation keeps the metadata the crawler extracted from the asset.

Rows written before this revision keep NULL purposes and licences and no links (they read only
robots.txt, linked by ``robots_fetch_id``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_document",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("fetch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_decision_document_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["fetch_id"], ["policy_fetch.id"], name=op.f("fk_decision_document_fetch_id_policy_fetch")
        ),
        sa.PrimaryKeyConstraint("decision_id", "fetch_id", name=op.f("pk_decision_document")),
    )
    with op.batch_alter_table("decision_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_document_fetch_id"), ["fetch_id"], unique=False)
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purposes", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("licenses", sa.JSON(), nullable=True))
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extract", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_column("extract")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("licenses")
        batch_op.drop_column("purposes")
    with op.batch_alter_table("decision_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_document_fetch_id"))
    op.drop_table("decision_document")
