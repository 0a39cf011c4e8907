"""Reading the HTML a check needs: ``<meta>`` tags, JSON-LD blocks and microdata properties.

One tolerant pass of the standard library's HTML parser over the (bounded) markup: malformed
markup keeps what was read before the fault, never raises. The result is computed once per asset
(:func:`read_html`) and shared by every check that reads HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# JSON-LD blocks kept per page, and characters per block: bounds on what one page can make us hold.
MAX_JSONLD_BLOCKS = 32
MAX_JSONLD_CHARS = 256 * 1024


@dataclass(slots=True)
class HtmlFacts:
    # (name or http-equiv or property, lowercased and stripped; content as written)
    metas: list[tuple[str, str]] = field(default_factory=list)
    jsonld: list[str] = field(default_factory=list)  # the text of each ld+json script
    # microdata: (itemprop lowercased, value: the content attribute or the element's href/src)
    itemprops: list[tuple[str, str]] = field(default_factory=list)
    # <link rel=... href=...>: (rel lowercased, href)
    links: list[tuple[str, str]] = field(default_factory=list)
    forms_with_password: int = 0  # <input type=password> seen
    title: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = HtmlFacts()
        self._script: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        facts = self.facts
        if tag == "meta":
            name = values.get("name") or values.get("http-equiv") or values.get("property")
            if name is not None and "content" in values:
                facts.metas.append((name.strip().lower(), values["content"]))
        elif tag == "script" and values.get("type", "").strip().lower() == "application/ld+json":
            if len(facts.jsonld) < MAX_JSONLD_BLOCKS:
                self._script = []
        elif tag == "link" and "href" in values:
            facts.links.append((values.get("rel", "").strip().lower(), values["href"]))
        elif tag == "input" and values.get("type", "").strip().lower() == "password":
            facts.forms_with_password += 1
        elif tag == "title":
            self._in_title = True
        if "itemprop" in values:
            value = values.get("content") or values.get("href") or values.get("src") or ""
            facts.itemprops.append((values["itemprop"].strip().lower(), value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.facts.jsonld.append("".join(self._script)[:MAX_JSONLD_CHARS])
            self._script = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            if sum(map(len, self._script)) < MAX_JSONLD_CHARS:
                self._script.append(data)
        elif self._in_title and len(self.facts.title) < 500:
            self.facts.title += data


def read_html(html: str) -> HtmlFacts:
    """What ``html`` says that checks read; never raises."""
    reader = _Reader()
    try:
        reader.feed(html)
        reader.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read so far
        pass
    if reader._script is not None:  # an unterminated ld+json block (a cut <head>)
        reader.facts.jsonld.append("".join(reader._script)[:MAX_JSONLD_CHARS])
    return reader.facts
