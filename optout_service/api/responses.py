"""The error answers each kind of route can give, declared once for the OpenAPI schema.

Every error body is ``{"detail": ...}``: a message, or FastAPI's list of validation problems.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from optout_service import errors


class Problem(BaseModel):
    detail: str | list[dict[str, Any]]


def _answer(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


_BAD_REQUEST = _answer("the request could not be read (malformed body or headers)")
_TOO_LARGE = _answer(errors.BODY_TOO_LARGE.format(limit="the configured number of"))
_INVALID = _answer("a field is missing or invalid; `detail` names it")

# Routes anyone may call (self-checks): rate-limited per client.
PUBLIC: dict[int | str, dict[str, Any]] = {
    400: _BAD_REQUEST,
    413: _TOO_LARGE,
    422: _INVALID,
    429: _answer(errors.RATE_LIMITED),
    503: _answer(errors.TIME_BUDGET.format(seconds=10)),
}

# Routes that need an API key with a scope.
PROTECTED: dict[int | str, dict[str, Any]] = {
    400: _BAD_REQUEST,
    401: _answer(errors.MISSING_API_KEY),
    403: _answer("the API key lacks the scope this route needs, or the resource is refused"),
    413: _TOO_LARGE,
    422: _INVALID,
}

# Liveness, readiness and metrics take no input, but any request may carry a body.
OPERATIONS: dict[int | str, dict[str, Any]] = {
    400: _BAD_REQUEST,
    413: _TOO_LARGE,
    422: _INVALID,
}
