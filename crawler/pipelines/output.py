"""Writes kept responses: a gzipped WARC (the archive format) or JSONL (easy to inspect)."""

from __future__ import annotations

import base64
import hashlib
import json
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

# Headers that described the bytes on the wire, not the body as stored (Scrapy has undone the
# chunking, and any Content-Encoding it decoded it also removed from the headers); the stored
# record gets its own Content-Length.
_WIRE_HEADERS = frozenset({"content-length", "transfer-encoding"})


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class OutputPipeline:
    """Writes each item to ``COMPLIANCE_OUTPUT_DIR`` as ``pages.warc.gz`` or ``pages.jsonl``.

    Items reach it only after the service said ``keep``: a discarded response raised
    ``IgnoreRequest`` in the downloader and never became an item.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.directory = Path(crawler.settings.get("COMPLIANCE_OUTPUT_DIR") or "out")
        self.format: str = crawler.settings.get("COMPLIANCE_OUTPUT_FORMAT") or "warc"
        if self.format not in ("warc", "jsonl"):
            raise ValueError(
                f"COMPLIANCE_OUTPUT_FORMAT must be 'warc' or 'jsonl', not {self.format!r}"
            )
        self._file: IO[bytes] | None = None
        self._warc: WARCWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutputPipeline:
        return cls(crawler)

    @property
    def path(self) -> Path:
        return self.directory / ("pages.warc.gz" if self.format == "warc" else "pages.jsonl")

    def open_spider(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("wb")
        if self.format == "warc":
            self._warc = WARCWriter(self._file, gzip=True)
            info = self._warc.create_warcinfo_record(
                self.path.name,
                {
                    "software": "optout-compliance crawler",
                    "format": "WARC File Format 1.1",
                    "job": str(self.crawler.settings.get("COMPLIANCE_JOB") or ""),
                },
            )
            self._warc.write_record(info)

    def close_spider(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def process_item(self, item: Any) -> Any:
        data = ItemAdapter(item).asdict()
        body: bytes = data.get("body") or b""
        assert self._file is not None
        if self._warc is not None:
            status = int(data["status"])
            headers = [
                (str(k), str(v))
                for k, v in data.get("headers", [])
                if str(k).lower() not in _WIRE_HEADERS
            ]
            headers.append(("Content-Length", str(len(body))))
            http_headers = StatusAndHeaders(
                f"{status} {_reason_phrase(status)}", headers, protocol="HTTP/1.1"
            )
            record = self._warc.create_warc_record(
                data["url"],
                "response",
                payload=BytesIO(body),
                length=len(body),  # known length: warcio digests in place, no temporary file
                http_headers=http_headers,
                warc_headers_dict={
                    "WARC-Compliance-Decision-Id": str(data.get("decision_id") or "")
                },
            )
            self._warc.write_record(record)
        else:
            record_json: dict[str, Any] = {
                k: data.get(k)
                for k in ("url", "status", "headers", "content_type", "decision_id", "fetched_at")
            }
            record_json["sha256"] = hashlib.sha256(body).hexdigest()
            try:
                record_json["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                record_json["body_base64"] = base64.b64encode(body).decode("ascii")
            self._file.write(json.dumps(record_json).encode() + b"\n")
            self._file.flush()
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("output/items")
        return item
