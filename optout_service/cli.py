"""``optout-service``: serve the API, migrate the database, export the log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from optout_service.config import get_settings
from optout_service.db import Database, upgrade_to_head
from optout_service.repository import ExportFilter, Repository

app = typer.Typer(help="The opt-out service.", no_args_is_help=True, add_completion=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind (0: any free port)")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    log_level: Annotated[str, typer.Option()] = "info",
) -> None:
    """Serve the API with uvicorn (settings from OPTOUT_* variables)."""
    import uvicorn

    uvicorn.run(
        "optout_service.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=True,
    )


@app.command()
def migrate() -> None:
    """Upgrade the configured database to the latest schema."""
    settings = get_settings()
    upgrade_to_head(settings.database.url)
    typer.echo(f"database at head: {Database(settings.database).engine.url!r}")


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default stdout)")
    ] = None,
    job: Annotated[str | None, typer.Option()] = None,
    domain: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Write the decision log as JSONL, straight from the database."""
    settings = get_settings()
    database = Database(settings.database)
    repository = Repository(database.sessions)
    stream = output.open("w", encoding="utf-8") if output else sys.stdout
    count = 0
    try:
        for record in repository.iter_export(ExportFilter(job=job, domain=domain)):
            stream.write(json.dumps(record, separators=(",", ":")) + "\n")
            count += 1
    finally:
        if output:
            stream.close()
        database.dispose()
    typer.echo(f"{count} records", err=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
