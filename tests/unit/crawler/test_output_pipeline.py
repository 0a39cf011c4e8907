"""Kept responses written as WARC (read back with warcio) or JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from crawler.pipelines.output import OutputPipeline

ITEM = {
    "url": "http://a.test/page.html",
    "status": 200,
    "headers": [["Content-Type", "text/html"]],
    "body": "<html>é</html>".encode(),
    "content_type": "text/html",
    "decision_id": "dec-1",
    "fetched_at": "2026-11-23T00:00:00+00:00",
}


def pipeline(tmp_path: Path, fmt: str) -> OutputPipeline:
    crawler = get_crawler(
        settings_dict={"COMPLIANCE_OUTPUT_DIR": str(tmp_path), "COMPLIANCE_OUTPUT_FORMAT": fmt}
    )
    return OutputPipeline.from_crawler(crawler)


def test_warc_records_carry_the_decision_id(tmp_path: Path) -> None:
    out = pipeline(tmp_path, "warc")
    out.open_spider()
    out.process_item(dict(ITEM))
    out.process_item(
        {**ITEM, "url": "http://a.test/bin", "body": b"\x00\xff", "decision_id": "dec-2"}
    )
    out.close_spider()
    with (tmp_path / "pages.warc.gz").open("rb") as stream:
        records = list(ArchiveIterator(stream))
    assert records[0].rec_type == "warcinfo"
    responses = [r for r in records if r.rec_type == "response"]
    assert [r.rec_headers.get_header("WARC-Target-URI") for r in responses] == [
        "http://a.test/page.html",
        "http://a.test/bin",
    ]
    assert [r.rec_headers.get_header("WARC-Compliance-Decision-Id") for r in responses] == [
        "dec-1",
        "dec-2",
    ]


def test_jsonl_keeps_text_and_base64_bodies(tmp_path: Path) -> None:
    out = pipeline(tmp_path, "jsonl")
    out.open_spider()
    out.process_item(dict(ITEM))
    out.process_item({**ITEM, "body": b"\xff\xfe"})
    out.close_spider()
    first, second = (
        json.loads(line) for line in (tmp_path / "pages.jsonl").read_text().splitlines()
    )
    assert first["body"] == "<html>é</html>"
    assert first["decision_id"] == "dec-1"
    assert second["body_base64"] == "//4="
    assert len(first["sha256"]) == 64


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'warc' or 'jsonl'"):
        pipeline(tmp_path, "pdf")
