"""Embedded mode: the opt-out service in this process, reached over ASGI, lifespan run properly.

This is the only crawler module that imports ``optout_service``, and only when embedded mode
starts, so a crawler pointed at a served instance never loads the service's code.
"""

from __future__ import annotations

import secrets
from contextlib import AbstractAsyncContextManager
from typing import Any

from crawler.optout_client import HttpOptOutClient


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, nested dictionaries merged rather than replaced."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def embedded_overrides(
    database_url: str, token: str, api_key: str, extra: dict[str, Any]
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "database": {"url": database_url},
        "crawler": {"token": token},
        "auth": {"api_keys": [{"name": "embedded", "key": api_key, "scopes": ["crawl", "audit"]}]},
    }
    return deep_merge(base, extra)


class EmbeddedService:
    """Start with :meth:`start`, which returns a client; :meth:`stop` runs the app's shutdown."""

    def __init__(self, database_url: str, token: str, extra: dict[str, Any] | None = None) -> None:
        self._api_key = secrets.token_urlsafe(32)
        self._overrides = embedded_overrides(database_url, token, self._api_key, extra or {})
        self._lifespan: AbstractAsyncContextManager[Any] | None = None

    async def start(self, timeout: float = 30.0) -> HttpOptOutClient:
        from optout_service.config import Settings
        from optout_service.main import create_app

        app = create_app(Settings(**self._overrides))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        self._lifespan = lifespan
        return HttpOptOutClient.for_asgi_app(app, self._api_key, timeout=timeout)

    async def stop(self) -> None:
        if self._lifespan is not None:
            lifespan, self._lifespan = self._lifespan, None
            await lifespan.__aexit__(None, None, None)
