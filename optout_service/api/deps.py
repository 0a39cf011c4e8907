"""Dependencies shared by the routes: the services container and API-key scopes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from optout_service import errors
from optout_service.config import ApiKey, Scope
from optout_service.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def api_key(request: Request, services: ServicesDep) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, errors.MISSING_API_KEY, {"WWW-Authenticate": "Bearer"}
        )
    # Looked up by digest: the comparison never touches the secret itself.
    key = services.api_keys.get(hashlib.sha256(presented.strip().encode()).hexdigest())
    if key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, errors.UNKNOWN_API_KEY, {"WWW-Authenticate": "Bearer"}
        )
    return key


ApiKeyDep = Annotated[ApiKey, Depends(api_key)]


def require_scope(*scopes: Scope) -> Callable[[ApiKey], ApiKey]:
    def check(key: ApiKeyDep) -> ApiKey:
        if not any(scope in key.scopes for scope in scopes):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, errors.SCOPE_REQUIRED.format(scope=" or ".join(scopes))
            )
        return key

    return check


CrawlKey = Annotated[ApiKey, Depends(require_scope("crawl"))]
CrawlOrAuditKey = Annotated[ApiKey, Depends(require_scope("crawl", "audit"))]
AuditKey = Annotated[ApiKey, Depends(require_scope("audit"))]
