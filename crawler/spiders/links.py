"""A generic link-following spider: start URLs in, one item per kept response out.

``scrapy crawl links -a start_urls=https://a.example/,https://b.example/ -a max_depth=2``
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider
from scrapy.http import HtmlResponse, Response

DEPTH_KEY = "link_depth"


def _as_list(value: Any) -> list[str]:
    """Start URLs from a list, or from a string separated by newlines or commas."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", "\n").splitlines() if part.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _optional_depth(value: Any) -> int | None:
    if value is None or value == "":
        return None
    depth = int(value)
    if depth < 0:
        raise ValueError(f"max_depth must be 0 or more, not {depth}")
    return depth


class LinkSpider(Spider):
    """Follows the http(s) links of HTML pages, ``max_depth`` links deep from a start URL."""

    name = "links"

    def __init__(self, start_urls: Any = None, max_depth: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = _as_list(start_urls)
        self.max_depth = _optional_depth(max_depth)

    async def start(self) -> AsyncIterator[Any]:
        for url in self.start_urls:
            yield Request(url, callback=self.parse, meta={DEPTH_KEY: 0})

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        # HttpErrorMiddleware keeps other statuses away unless a project allows them.
        if not 200 <= response.status < 300:
            return
        content_type = response.headers.get(b"Content-Type")
        yield {
            "url": response.url,
            "status": response.status,
            "headers": [
                [name.decode("latin-1"), value.decode("latin-1")]
                for name, values in response.headers.items()
                for value in values
            ],
            "body": response.body,
            "content_type": content_type.decode("latin-1") if content_type else None,
            "decision_id": response.meta.get("compliance_decision_id"),
            "fetched_at": datetime.now(UTC).isoformat(),
        }
        depth = int(response.meta.get(DEPTH_KEY, 0))
        if not isinstance(response, HtmlResponse):
            return
        if self.max_depth is not None and depth >= self.max_depth:
            return
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip()).split("#", 1)[0]
            if url.startswith(("http://", "https://")):
                yield Request(url, callback=self.parse, meta={DEPTH_KEY: depth + 1})
