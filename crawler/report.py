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
    host: str
    asked: int = 0
    allowed: int = 0
    denied: int = 0
    fetched: int = 0
    kept: int = 0
    discarded: int = 0
    refusals: Counter[str] = field(default_factory=Counter)


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records


def host_rows(records: Iterable[Mapping[str, Any]]) -> list[HostRow]:
    rows: dict[str, HostRow] = {}
    for record in records:
        row = rows.setdefault(str(record.get("host", "?")), HostRow(str(record.get("host", "?"))))
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


def render_table(rows: list[HostRow], title: str = "Compliance by host") -> Table:
    table = Table(title=title)
    for column in ("host", "asked", "allowed", "denied", "fetched", "kept", "discarded"):
        table.add_column(column, justify="left" if column == "host" else "right")
    table.add_column("refusals by reason")
    total = HostRow("total")
    for row in rows:
        table.add_row(
            row.host,
            str(row.asked),
            str(row.allowed),
            str(row.denied),
            str(row.fetched),
            str(row.kept),
            str(row.discarded),
            ", ".join(f"{reason} x{count}" for reason, count in sorted(row.refusals.items())),
        )
        for name in ("asked", "allowed", "denied", "fetched", "kept", "discarded"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.refusals.update(row.refusals)
    table.add_section()
    table.add_row(
        "total",
        str(total.asked),
        str(total.allowed),
        str(total.denied),
        str(total.fetched),
        str(total.kept),
        str(total.discarded),
        ", ".join(f"{reason} x{count}" for reason, count in sorted(total.refusals.items())),
    )
    return table
