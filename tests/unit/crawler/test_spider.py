"""LinkSpider: start URLs, one item per 2xx response, links followed from HTML only."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse

from crawler.spiders.links import LinkSpider

PAGE = b"""<html><head><title>t</title></head><body>
<a href="/b.html#top">b</a> <a href="c.html">c</a> <a href="mailto:x@a.test">mail</a>
<a href="https://other.test/x">x</a> <a href="javascript:void(0)">js</a>
</body></html>"""


def page(url: str, depth: int = 0, **kwargs: Any) -> HtmlResponse:
    request = Request(url, meta={"link_depth": depth, "compliance_decision_id": "dec-1"})
    return HtmlResponse(
        url,
        body=PAGE,
        headers={"Content-Type": "text/html; charset=utf-8"},
        request=request,
        **kwargs,
    )


def split(results: list[Any]) -> tuple[list[dict[str, Any]], list[Request]]:
    return (
        [r for r in results if isinstance(r, dict)],
        [r for r in results if isinstance(r, Request)],
    )


@pytest.mark.parametrize(
    "given",
    [
        "http://a.test/, http://b.test/",
        "http://a.test/\nhttp://b.test/\n",
        ["http://a.test/", "http://b.test/"],
    ],
)
async def test_start_urls_from_a_list_or_a_string(given: Any) -> None:
    spider = LinkSpider(start_urls=given)
    requests = [r async for r in spider.start()]
    assert [r.url for r in requests] == ["http://a.test/", "http://b.test/"]


def test_an_html_page_gives_an_item_and_its_http_links() -> None:
    items, requests = split(list(LinkSpider().parse(page("http://a.test/dir/a.html"))))
    (item,) = items
    assert item["url"] == "http://a.test/dir/a.html"
    assert item["status"] == 200
    assert item["body"] == PAGE
    assert item["decision_id"] == "dec-1"
    assert item["content_type"] == "text/html; charset=utf-8"
    assert ["Content-Type", "text/html; charset=utf-8"] in item["headers"]
    assert item["fetched_at"].endswith("+00:00")
    assert [r.url for r in requests] == [
        "http://a.test/b.html",
        "http://a.test/dir/c.html",
        "https://other.test/x",
    ]
    assert all(r.meta["link_depth"] == 1 for r in requests)


def test_max_depth_stops_following_links() -> None:
    spider = LinkSpider(max_depth="1")
    _, at_zero = split(list(spider.parse(page("http://a.test/", depth=0))))
    items, at_one = split(list(spider.parse(page("http://a.test/", depth=1))))
    assert at_zero
    assert not at_one
    assert len(items) == 1


def test_non_html_gives_an_item_but_no_links() -> None:
    text = TextResponse(
        "http://a.test/a.txt",
        body=b'<a href="/b">b</a>',
        headers={"Content-Type": "text/plain"},
        request=Request("http://a.test/a.txt"),
    )
    binary = Response(
        "http://a.test/a.bin", body=b"\x00\x01", request=Request("http://a.test/a.bin")
    )
    for response in (text, binary):
        items, requests = split(list(LinkSpider().parse(response)))
        assert len(items) == 1
        assert requests == []


def test_non_2xx_responses_give_nothing() -> None:
    assert list(LinkSpider().parse(page("http://a.test/", status=404))) == []


def test_a_negative_depth_is_refused() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        LinkSpider(max_depth=-1)
