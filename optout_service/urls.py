"""URL normalisation for decisions: one canonical form per resource, or a clear error."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

from piracy_lists import normalise_host

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are when re-quoting a path or query: the reserved set, '%' (existing
# escapes are kept as written, RFC 9309 compares them after its own normalisation).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


class InvalidURL(ValueError):
    """The URL cannot be decided: not http(s), no host, or a host that cannot be encoded."""


@dataclass(frozen=True, slots=True)
class NormalisedURL:
    url: str  # canonical absolute URL
    scheme: str
    host: str  # lowercase ASCII (IDNA), no trailing dot, IPv6 without brackets
    port: int
    path_query: str  # path (at least "/") plus "?query" when present

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def robots_url(self) -> str:
        return self.origin + "/robots.txt"


def path_query_of(raw: str, *, max_length: int) -> str:
    """The path and query RFC 9309 matches, of an absolute URL of any scheme with an authority
    (``ftp://host/dir/file``: RFC 9309 2.2 applies to other URI schemes too), quoted and with an
    empty query kept as :func:`normalise_url` does. http(s) URLs are read by that function."""
    if len(raw) > max_length:
        raise InvalidURL(f"URL longer than {max_length} characters")
    if any(ord(c) < 0x20 or c == "\x7f" for c in raw):
        raise InvalidURL("URL contains control characters")
    raw = raw.strip()
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise InvalidURL(f"unparseable URL: {exc}") from exc
    if parts.scheme.lower() in _DEFAULT_PORTS:
        return normalise_url(raw, max_length=max_length).path_query
    if not parts.scheme or not raw[len(parts.scheme) + 1 :].startswith("//"):
        raise InvalidURL("give an absolute URL with a host (scheme://host/path) or a path")
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    has_query = bool(query) or "?" in raw.partition("#")[0]
    return path + ("?" + query if has_query else "")


def _encode_host(raw: str) -> str:
    # One host grammar for the whole product: the piracy lists' (IDNA per label, RFC limits).
    try:
        return normalise_host(raw.strip("[]") if raw.startswith("[") else raw)
    except ValueError as exc:
        raise InvalidURL(f"invalid host {raw!r}: {exc}") from exc


def normalise_url(raw: str, *, max_length: int = 8192) -> NormalisedURL:
    """Canonicalise an absolute http(s) URL, or raise :class:`InvalidURL`.

    Scheme and host are lowercased, the host is IDNA-encoded, a default port is dropped, an
    empty path becomes ``/``, the fragment is removed, and characters that must be escaped in a
    path or query are percent-encoded as UTF-8. Existing escapes are kept as written, and so
    is a ``?`` that starts an empty query.
    """
    if len(raw) > max_length:
        raise InvalidURL(f"URL longer than {max_length} characters")
    if any(ord(c) < 0x20 or c == "\x7f" for c in raw):
        raise InvalidURL("URL contains control characters")
    try:
        parts: SplitResult = urlsplit(raw.strip())
        port_value = parts.port
    except ValueError as exc:
        raise InvalidURL(f"unparseable URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL(
            f"only http and https URLs can be decided, not {scheme or 'a relative URL'!r}"
        )
    if parts.hostname is None:
        raise InvalidURL("the URL has no host")
    host = _encode_host(parts.hostname)
    port = port_value if port_value is not None else _DEFAULT_PORTS[scheme]
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    netloc_host = f"[{host}]" if ":" in host else host
    netloc = netloc_host if port == _DEFAULT_PORTS[scheme] else f"{netloc_host}:{port}"
    # An empty query is kept: ``/search?`` is not ``/search`` (``Disallow: /search?`` names
    # the first only), and urlsplit cannot tell them apart.
    has_query = bool(query) or "?" in raw.partition("#")[0]
    url = urlunsplit((scheme, netloc, path, query, "")) + ("?" if has_query and not query else "")
    path_query = path + ("?" + query if has_query else "")
    return NormalisedURL(url=url, scheme=scheme, host=host, port=port, path_query=path_query)
