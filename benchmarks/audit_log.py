"""The log's write path with and without the hash chain, then export and verify.

Writes RECORDS records (decisions, each followed by its observation) through the service's own
path: ``DecisionLog`` batches of BATCH records, CONCURRENCY batches in flight, one log writer
thread committing in groups, to a fresh SQLite file. The baseline is the same writes with the
chain switched off (the benchmark drops each write's chain entries before they reach the
writer); ours chains every record. Then the chained log is exported (JSONL, as
``GET /v1/audit/export`` streams it) and verified (``optout_service.chain.verify``).

    python -m benchmarks.audit_log [--records 200000] [--batch 64] [--concurrency 8]

Prints records/s for each step; the last lines are ``write_ratio=<chained / plain>``,
``export_records_per_s=`` and ``verify_records_per_s=``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from optout_service.chain import verify
from optout_service.config import DatabaseSettings
from optout_service.db import Database, upgrade_to_head
from optout_service.log_writer import Insert, LogWriter
from optout_service.repository import (
    DecisionEntry,
    DecisionLog,
    ExportFilter,
    ObservationEntry,
    Repository,
)


def _decisions(start: int, count: int) -> list[DecisionEntry]:
    return [
        DecisionEntry(
            id=str(uuid.uuid4()),
            url=f"http://h{n % 5000}.example.com/page/{n}",
            host=f"h{n % 5000}.example.com",
            decision="allow" if n % 4 else "deny",
            reasons=("robots.allowed",) if n % 4 else ("robots.disallowed",),
            crawl_delay=None,
            robots_fetch_id=None,
        )
        for n in range(start, start + count)
    ]


def _observations(decisions: list[DecisionEntry]) -> list[ObservationEntry]:
    return [
        ObservationEntry(
            id=str(uuid.uuid4()),
            decision_id=d.id,
            job="bench",
            url=d.url,
            host=d.host,
            final_url=d.url,
            status=200,
            content_type="text/html",
            length=1234,
            sha256="ab" * 32,
            outcome="keep",
            reasons=("content.unreserved",),
            headers=(("Content-Type", "text/html"),),
        )
        for d in decisions
    ]


async def _write(url: str, records: int, batch: int, concurrency: int, chained: bool) -> float:
    database = Database(DatabaseSettings(url=url))
    writer = LogWriter(database.engine)
    if not chained:
        insert = writer.insert

        async def without_chain(write: Insert) -> None:
            await insert(dataclasses.replace(write, chained=None))

        writer.insert = without_chain  # type: ignore[method-assign]
    log = DecisionLog(writer, database.engine.dialect)
    writer.start()
    gate = asyncio.Semaphore(concurrency)
    half = max(1, batch // 2)

    async def one(start: int) -> None:
        async with gate:
            decisions = _decisions(start, half)
            now = datetime.now(UTC)
            await log.add_decisions(
                decisions, job="bench", api_key="bench", crawler="ExampleBot", created_at=now
            )
            await log.add_observations(_observations(decisions), api_key="bench", created_at=now)

    started = time.perf_counter()
    await asyncio.gather(*(one(start) for start in range(0, records // 2, half)))
    seconds = time.perf_counter() - started
    writer.close()
    database.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="audit-log-") as tmp:
        rates: dict[str, float] = {}
        for mode in ("plain", "chained"):
            url = f"sqlite:///{Path(tmp) / f'{mode}.sqlite3'}"
            upgrade_to_head(url)
            seconds = asyncio.run(
                _write(url, args.records, args.batch, args.concurrency, mode == "chained")
            )
            rates[mode] = args.records / seconds
            print(
                f"write {mode:>7}: {args.records} records in {seconds:.2f} s = "
                f"{rates[mode]:,.0f} records/s",
                flush=True,
            )
        database = Database(DatabaseSettings(url=url))
        repository = Repository(database.sessions)
        started = time.perf_counter()
        exported = sum(
            len(json.dumps(record, separators=(",", ":")))
            for record in repository.iter_export(ExportFilter())
            if record
        )
        export_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = verify(database.engine)
        verify_seconds = time.perf_counter() - started
        database.dispose()
    assert report.ok, report.problem
    print(
        f"export: {args.records} records ({exported / 1e6:.1f} MB of JSONL) in "
        f"{export_seconds:.2f} s = {args.records / export_seconds:,.0f} records/s"
    )
    print(
        f"verify: {report.records} chain rows in {verify_seconds:.2f} s = "
        f"{report.records / verify_seconds:,.0f} records/s"
    )
    print(f"write_ratio={rates['chained'] / rates['plain']:.3f}")
    print(f"export_records_per_s={args.records / export_seconds:.0f}")
    print(f"verify_records_per_s={report.records / verify_seconds:.0f}")


if __name__ == "__main__":
    main()
