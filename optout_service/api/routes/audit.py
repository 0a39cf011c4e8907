"""GET /v1/audit/export: the decision log, streamed in constant memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse

from optout_service import errors
from optout_service.api.deps import CrawlOrAuditKey, ServicesDep
from optout_service.repository import ExportFilter

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/export", response_class=StreamingResponse)
def export_log(
    services: ServicesDep,
    key: CrawlOrAuditKey,
    format: Literal["jsonl"] = Query("jsonl"),
    job: str | None = Query(None, max_length=200),
    domain: str | None = Query(None, max_length=255),
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    if job is None and "audit" not in key.scopes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, errors.EXPORT_NEEDS_AUDIT)
    flt = ExportFilter(
        job=job, since=since, until=until, domain=domain.lower().rstrip(".") if domain else None
    )

    def lines() -> Iterator[bytes]:
        for record in services.repository.iter_export(flt):
            yield (json.dumps(record, separators=(",", ":")) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")
