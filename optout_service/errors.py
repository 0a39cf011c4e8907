"""Messages shared by routes, OpenAPI ``responses=`` and tests."""

from __future__ import annotations

MISSING_API_KEY = "an API key is required: send 'Authorization: Bearer <key>'"
UNKNOWN_API_KEY = "unknown API key"
SCOPE_REQUIRED = "this API key lacks the {scope!r} scope"
BODY_TOO_LARGE = "request body larger than {limit} bytes"
TOO_MANY_URLS = "at most {limit} URLs per request"
UNKNOWN_DECISION = "unknown decision id"
EXPORT_NEEDS_AUDIT = "exporting without a job filter needs the 'audit' scope"
