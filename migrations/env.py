"""Alembic environment: the URL comes from the service's settings unless the caller set one.

Concurrent upgrades are safe: on PostgreSQL each one takes a transaction-level advisory lock
before it reads the current revision, so replicas starting together run the migrations once
and the others find the database at head. (SQLite serialises writers itself, and
``optout_service.db.upgrade_to_head`` also holds a file lock beside the database.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlalchemy import engine_from_config, pool

from optout_service.config import get_settings
from optout_service.models import Base

config = context.config
target_metadata = Base.metadata

# Any fixed 64-bit number shared by every process migrating this schema ("optout" in ASCII).
MIGRATION_LOCK_ID = 0x6F70746F7574


def _url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    return configured or get_settings().database.url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = _url()
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Held until this transaction ends; the revision is read after it is granted.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
