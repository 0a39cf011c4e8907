"""The FastAPI application: ``create_app(settings)`` assembles it, the lifespan wires it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from optout_service import __version__
from optout_service.api.main import PUBLIC_PATHS, api_router
from optout_service.config import Settings, get_settings
from optout_service.db import check_at_head, upgrade_to_head
from optout_service.errors import json_safe
from optout_service.heap import trim_periodically
from optout_service.limits import BodySizeLimitMiddleware, PublicBudgetMiddleware, TokenBuckets
from optout_service.services import Services

logger = logging.getLogger(__name__)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # The default handler echoes each bad input as JSON and fails (500) on values such as the
    # Infinity that Python's JSON parser accepts; render them safely and briefly instead.
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(status_code=422, content={"detail": json_safe(errors)})


def create_app(
    settings: Settings | None = None, *, fetch_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the app. With no argument the settings come from the ``OPTOUT_*`` environment.

    ``fetch_transport`` replaces the network under the policy-document fetcher (tests).
    """
    settings = settings if settings is not None else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.database.should_migrate_on_startup:
            await to_thread.run_sync(upgrade_to_head, settings.database.url)
        services = Services.build(settings, fetch_transport=fetch_transport)
        if not settings.database.should_migrate_on_startup:
            # Refuse to start on an old schema rather than answer 500 to every write.
            try:
                await to_thread.run_sync(check_at_head, services.database.engine)
            except BaseException:
                await services.aclose()
                raise
        if not services.api_keys:
            logger.warning("no API keys configured: every write endpoint will answer 401")
        app.state.services = services
        trimming = (
            asyncio.ensure_future(trim_periodically(settings.api.memory_trim_seconds))
            if settings.api.memory_trim_seconds > 0
            else None
        )
        try:
            yield
        finally:
            if trimming is not None:
                trimming.cancel()
            await services.aclose()

    app = FastAPI(
        title="Opt-out service",
        version=__version__,
        summary="Decides every fetch of a training-data crawl and keeps the audit trail.",
        lifespan=lifespan,
    )
    api = settings.api
    # Added last runs first: the rate limit, then the body limit, then the app.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=api.max_body_bytes,
        public_paths=PUBLIC_PATHS,
        public_max_bytes=api.public_max_body_bytes,
    )
    app.add_middleware(
        PublicBudgetMiddleware,
        public_paths=PUBLIC_PATHS,
        buckets=TokenBuckets(api.public_requests_per_minute / 60, api.public_burst)
        if api.public_requests_per_minute > 0
        else None,
        time_budget=api.public_time_budget_seconds,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(api_router)
    return app
