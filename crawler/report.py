"""Per-host summary of a crawl, from its exported decision log and its Scrapy stats."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table


@dataclass
class HostRow:
    """What happened on one host: decisions asked, responses observed, refusals by reason."""

    host: str
    asked: int = 0
    allowed: int = 0
    denied: int = 0
    fetched: int = 0
    kept: int = 0
    discarded: int = 0
    refusals: Counter[str] = field(default_factory=Counter)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of an exported decision log (JSONL); none when the file does not exist."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records


def host_rows(records: Iterable[Mapping[str, Any]]) -> list[HostRow]:
    """One row per host, sorted by host; a refusal is counted under its first reason."""
    rows: dict[str, HostRow] = {}
    for record in records:
        if record.get("type") not in ("decision", "observation"):
            continue  # a record type added to the export later: not counted here
        host = str(record.get("host") or "?")
        row = rows.setdefault(host, HostRow(host))
        reasons = record.get("reasons") or ["?"]
        if record.get("type") == "decision":
            row.asked += 1
            if record.get("decision") == "allow":
                row.allowed += 1
            else:
                row.denied += 1
                row.refusals[reasons[0]] += 1
        elif record.get("type") == "observation":
            row.fetched += 1
            if record.get("outcome") == "keep":
                row.kept += 1
            else:
                row.discarded += 1
                row.refusals[reasons[0]] += 1
    return sorted(rows.values(), key=lambda r: r.host)


def crawler_side_refusals(stats: Mapping[str, Any]) -> Counter[str]:
    """Refusals the crawler made without a service answer (service down, bad scheme, ...)."""
    counts: Counter[str] = Counter()
    for key, value in stats.items():
        parts = key.split("/")
        if (
            len(parts) == 3
            and parts[0] == "compliance"
            and parts[2].split(".")[0] in ("service", "request", "decision")
        ):
            counts[f"{parts[1]}:{parts[2]}"] += int(value)
    return counts


_COUNTS = ("asked", "allowed", "denied", "fetched", "kept", "discarded")


def totals(rows: Iterable[HostRow]) -> HostRow:
    """One row adding up every host."""
    total = HostRow("total")
    for row in rows:
        for name in _COUNTS:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.refusals.update(row.refusals)
    return total


def build_report(log_path: Path, stats: Mapping[str, Any]) -> tuple[list[HostRow], Counter[str]]:
    """Per-host rows from the exported log, and the refusals the crawler made on its own."""
    return host_rows(read_log(log_path)), crawler_side_refusals(stats)


def _cells(row: HostRow) -> list[str]:
    refusals = ", ".join(f"{reason} x{count}" for reason, count in sorted(row.refusals.items()))
    return [row.host, *(str(getattr(row, name)) for name in _COUNTS), refusals]


def render_table(rows: list[HostRow], title: str = "Compliance by host") -> Table:
    """A rich table of ``rows`` followed by their totals."""
    table = Table(title=title)
    for column in ("host", *_COUNTS):
        table.add_column(column, justify="left" if column == "host" else "right")
    table.add_column("refusals by reason")
    for row in rows:
        table.add_row(*_cells(row))
    table.add_section()
    table.add_row(*_cells(totals(rows)), style="bold")
    return table
