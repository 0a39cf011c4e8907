"""GET /v1/audit/export: the decision log, streamed in constant memory; GET /v1/audit/verify:
the hash chain over it (``optout_service.chain``).

An ``audit`` key reads every record; a key with only the ``crawl`` scope reads the records
written with that key, whatever filters it gives. Verifying reads the whole log: audit scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from optout_service.api.deps import AuditKey, CrawlOrAuditKey, ServicesDep
from optout_service.chain import verify
from optout_service.repository import ExportFilter
from optout_service.schemas import VerifyRead
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


@router.get("/verify", response_model=VerifyRead)
def verify_log(services: ServicesDep, key: AuditKey) -> VerifyRead:
    """Check every chain row, every record against its digest, and that no record is missing
    from the chain; the answer names the first problem found (docs/audit-log.md)."""
    keys = services.settings.audit.verifying_keys()
    report = verify(services.database.engine, public_keys=keys)
    return VerifyRead(**report.as_dict(), public_keys=keys)
