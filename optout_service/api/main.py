"""All routers of the API."""

from __future__ import annotations

from fastapi import APIRouter

from optout_service.api.routes import audit, decisions, health, observations, robots, selfcheck

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(decisions.router)
api_router.include_router(observations.router)
api_router.include_router(selfcheck.router)
api_router.include_router(robots.router)
api_router.include_router(audit.router)
