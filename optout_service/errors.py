"""Messages shared by routes, OpenAPI ``responses=`` and tests."""

from __future__ import annotations

import math

MISSING_API_KEY = "an API key is required: send 'Authorization: Bearer <key>'"
UNKNOWN_API_KEY = "unknown API key"
SCOPE_REQUIRED = "this API key lacks the {scope!r} scope"
BODY_TOO_LARGE = "request body larger than {limit} bytes"
TOO_MANY_URLS = "at most {limit} URLs per request"
UNKNOWN_DECISION = "unknown decision id"
TIME_BUDGET = "no answer within {seconds:g} seconds: try a smaller document"
RATE_LIMITED = "too many requests from this client: retry after the time in Retry-After"
DECISION_NOT_ALLOW = "only the response to an 'allow' decision can be observed"


def json_safe(value: object, *, max_chars: int = 200, depth: int = 0) -> object:
    """A JSON-encodable copy of ``value`` for error messages: non-finite floats and unknown types
    become strings, long strings are cut, deep or long containers are shortened."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        value = value if len(value) <= max_chars else value[:max_chars] + "..."
        # An unpaired surrogate cannot be written as UTF-8 JSON: show it escaped instead.
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if depth >= 4:
        return "..."
    if isinstance(value, dict):
        items = list(value.items())[:20]
        return {
            str(k)[:max_chars]: json_safe(v, max_chars=max_chars, depth=depth + 1) for k, v in items
        }
    if isinstance(value, list | tuple):
        return [json_safe(v, max_chars=max_chars, depth=depth + 1) for v in list(value)[:20]]
    return json_safe(str(value), max_chars=max_chars, depth=depth)
