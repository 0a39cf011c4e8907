"""GET /v1/audit/export: the decision log, streamed in constant memory.

An ``audit`` key reads every record; a key with only the ``crawl`` scope reads the records
written with that key, whatever filters it gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from optout_service.api.deps import CrawlOrAuditKey, ServicesDep
from optout_service.repository import ExportFilter
from optout_service.validation import Line
from piracy_lists import normalise_host

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _domain(value: str) -> str:
    try:
        return normalise_host(value)
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("query", "domain"), "msg": f"invalid domain: {exc}", "type": "domain"}]
        ) from exc


@router.get("/export", response_class=StreamingResponse)
def export_log(
    services: ServicesDep,
    key: CrawlOrAuditKey,
    format: Literal["jsonl"] = Query("jsonl"),
    job: Annotated[Line | None, Query(max_length=200)] = None,
    domain: Annotated[Line | None, Query(max_length=255)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    flt = ExportFilter(
        job=job,
        since=since,
        until=until,
        domain=_domain(domain) if domain else None,
        api_key=None if "audit" in key.scopes else key.name,
    )

    def lines() -> Iterator[bytes]:
        for record in services.repository.iter_export(flt):
            yield (json.dumps(record, separators=(",", ":")) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")
