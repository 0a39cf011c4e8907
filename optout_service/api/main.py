"""All routers of the API, each with the error answers its kind of route can give."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from optout_service.api.responses import OPERATIONS, PROTECTED, PUBLIC
from optout_service.api.routes import (
    audit,
    decisions,
    health,
    observations,
    robots,
    selfcheck,
    signals,
)

api_router = APIRouter()
api_router.include_router(health.router, responses=OPERATIONS)
api_router.include_router(decisions.router, responses=PROTECTED)
api_router.include_router(observations.router, responses=PROTECTED)
api_router.include_router(selfcheck.router, responses=PUBLIC)
api_router.include_router(signals.router, responses=PUBLIC)
api_router.include_router(robots.router, responses=PROTECTED)
api_router.include_router(audit.router, responses=PROTECTED)

# The keyless routes: smaller bodies, a rate limit per client and a time budget (limits.py).
PUBLIC_PATHS = frozenset(
    route.path
    for router in (selfcheck.router, signals.router)
    for route in router.routes
    if isinstance(route, APIRoute)
)
