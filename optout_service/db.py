"""Engine and session factories, created by the app's lifespan (never at import)."""

from __future__ import annotations

import fcntl
import importlib.util
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from optout_service.config import DatabaseSettings


class Database:
    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        url = make_url(settings.url)
        kwargs: dict[str, Any] = {"echo": settings.echo}
        if settings.is_sqlite:
            database = url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # Requests are served from a thread pool; SQLite serialises writers itself.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = sa.create_engine(url, **kwargs)
        if settings.is_sqlite:
            sa.event.listen(self.engine, "connect", self._sqlite_pragmas)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def _sqlite_pragmas(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={self.settings.sqlite_synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def migrations_directory() -> Path:
    """Where the Alembic scripts are installed (the top-level ``migrations`` package)."""
    spec = importlib.util.find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'migrations' package is not installed alongside optout_service")
    return Path(next(iter(spec.submodule_search_locations)))


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_directory()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(url: str) -> None:
    """Bring the database at ``url`` to the latest migration; safe to run concurrently.

    PostgreSQL: the migration environment takes an advisory lock. SQLite: a lock file beside
    the database serialises processes, so the second one finds the schema at head.
    """
    from alembic import command

    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            path = Path(database)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.with_name(path.name + ".migrate-lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                command.upgrade(alembic_config(url), "head")
            return
    command.upgrade(alembic_config(url), "head")


class DatabaseNotMigrated(RuntimeError):
    """The database has no schema, or an older one than this code needs."""


def check_at_head(engine: sa.Engine) -> None:
    """Raise :class:`DatabaseNotMigrated` unless the database is at the latest revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory(str(migrations_directory())).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        have = ", ".join(sorted(current)) or "none (never migrated)"
        raise DatabaseNotMigrated(
            f"the database schema is at revision {have}, this version needs "
            f"{', '.join(sorted(heads))}: run `optout-service migrate`"
        )
