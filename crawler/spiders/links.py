"""A generic link-following spider: start URLs in, one item per kept response out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", "\n").splitlines() if part.strip()]
    return [str(v) for v in value]


class LinkSpider(Spider):
    name = "links"

    def __init__(self, start_urls: Any = None, max_depth: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = _as_list(start_urls)
        self.max_depth = int(max_depth) if max_depth not in (None, "") else None

    async def start(self) -> AsyncIterator[Any]:
        for url in self.start_urls:
            yield Request(url, callback=self.parse, meta={"link_depth": 0})

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
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
        depth = int(response.meta.get("link_depth", 0))
        if not isinstance(response, TextResponse) or (
            self.max_depth is not None and depth >= self.max_depth
        ):
            return
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip()).split("#", 1)[0]
            if url.startswith(("http://", "https://")):
                yield Request(url, callback=self.parse, meta={"link_depth": depth + 1})
