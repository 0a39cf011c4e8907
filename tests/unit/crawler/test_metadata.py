"""extract_metadata: fixtures built in code (tests/support/assets.py), hostile inputs, bounds."""

from __future__ import annotations

import builtins
import json
import time
import zipfile
from typing import Any

import pytest

from crawler import metadata as module
from crawler.metadata import MAX_OPF_BYTES, MAX_XMP_BYTES, extract_metadata
from tests.support import assets

URL = "https://example.org/file"


def extract(body: bytes, content_type: str | None = None, url: str = URL) -> dict[str, Any]:
    found = extract_metadata(body, content_type, url)
    assert found is not None
    # JSON-ready: what the crawler posts with its observation.
    assert json.loads(json.dumps(found)) == found
    assert set(found) == {"format", "xmp", "package_opf", "c2pa", "errors"}
    return found


# --- which assets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!doctype html><html><head></head></html>", "text/html; charset=utf-8"),
        (b"plain text", "text/plain"),
        (b'{"a": 1}', "application/json"),
        (b"PK\x03\x04 a zip that is not an EPUB", "application/zip"),
        (b"\x00\x01\x02 unknown", None),
        (b"", None),
    ],
)
def test_html_text_and_unknown_formats_give_none(body: bytes, content_type: str | None) -> None:
    assert extract_metadata(body, content_type, URL) is None


@pytest.mark.parametrize(
    ("body", "content_type", "url", "expected"),
    [
        # Magic bytes win over a wrong content type (servers mislabel files).
        (assets.pdf_with_xmp(None), "text/html", URL, "pdf"),
        (assets.png(), "application/octet-stream", URL, "image"),
        (assets.epub(assets.opf3("")), "application/zip", URL, "epub"),
        # No signature: the content type, then the URL's extension.
        (b"not really a pdf", "application/pdf", URL, "pdf"),
        (b"junk", "image/svg+xml", URL, "image"),
        (b"junk", "application/octet-stream", "https://example.org/book.epub", "epub"),
    ],
)
def test_format_detection(body: bytes, content_type: str, url: str, expected: str) -> None:
    assert extract(body, content_type, url)["format"] == expected


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_xmp_from_the_catalog_metadata_stream() -> None:
    xmp = assets.tdm_xmp("1", "https://provider.com/policies/policy.json")
    found = extract(assets.pdf_with_xmp(xmp), "application/pdf")
    assert found["format"] == "pdf"
    assert "<tdm:reservation>1</tdm:reservation>" in found["xmp"]
    assert "https://provider.com/policies/policy.json" in found["xmp"]
    assert found["errors"] == []
    assert found["package_opf"] is None


def test_pdf_compressed_metadata_stream_is_inflated() -> None:
    found = extract(assets.pdf_with_xmp(assets.tdm_xmp("1"), compress=True))
    assert "<tdm:reservation>1</tdm:reservation>" in found["xmp"]


def test_pdf_without_metadata() -> None:
    found = extract(assets.pdf_with_xmp(None))
    assert found["xmp"] is None
    assert found["errors"] == []


def test_pdf_metadata_bomb_is_inflated_only_to_the_cap() -> None:
    # 64 MiB of spaces after the packet start, Flate-compressed to about 64 KiB.
    xmp = assets.tdm_xmp("1").encode() + b" " * (64 * 1024 * 1024)
    found = extract(assets.pdf_with_xmp(xmp, compress=True))
    assert len(found["xmp"]) <= MAX_XMP_BYTES
    assert any("cut" in e for e in found["errors"])


@pytest.mark.parametrize(
    "body",
    [
        assets.pdf_with_xmp(assets.tdm_xmp("1"))[:300],  # truncated
        b"%PDF-1.7\n" + bytes(range(256)) * 64,  # binary junk behind a header
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Metadata 1 0 R >> endobj\ntrailer << /Root 1 0 R >>",
    ],
)
def test_hostile_pdfs_are_reported_not_raised(body: bytes) -> None:
    found = extract(body)
    assert found["format"] == "pdf"
    assert isinstance(found["errors"], list)


def test_a_truncated_pdf_still_yields_an_answer_with_errors() -> None:
    found = extract(assets.pdf_with_xmp(assets.tdm_xmp("1"))[:200])
    assert found["errors"]
    assert all(isinstance(e, str) and len(e) <= module.MAX_ERROR_CHARS for e in found["errors"])


# --- EPUB -----------------------------------------------------------------------------------------


def test_epub_package_document_via_container_xml() -> None:
    opf = assets.opf3('<meta property="tdm:reservation">1</meta>')
    found = extract(assets.epub(opf, path="OPS/book.opf"), "application/epub+zip")
    assert found["format"] == "epub"
    assert found["package_opf"] == opf
    assert found["errors"] == []


def test_epub_without_container_or_package() -> None:
    no_container = assets.epub(assets.opf3(""), container="<container/>")
    assert "EPUB container.xml names no package document" in extract(no_container)["errors"]
    missing = assets.epub(None)
    assert any("has no OEBPS/content.opf" in e for e in extract(missing)["errors"])
    assert extract(missing)["package_opf"] is None


def test_epub_zip_bomb_is_read_only_to_the_cap() -> None:
    bomb = assets.epub_bomb(64 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024
    started = time.monotonic()
    found = extract(bomb)
    assert time.monotonic() - started < 5
    assert len(found["package_opf"]) <= MAX_OPF_BYTES
    assert any("declares" in e for e in found["errors"])


def test_epub_member_lying_about_its_size_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    big = assets.opf3("<!--" + "x" * (2 * MAX_OPF_BYTES) + "-->")
    body = assets.epub(big)
    real_getinfo = zipfile.ZipFile.getinfo

    def lying_getinfo(self: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
        info = real_getinfo(self, name)
        info.file_size = 10  # what a hostile central directory could say
        return info

    monkeypatch.setattr(zipfile.ZipFile, "getinfo", lying_getinfo)
    found = extract(body)
    # zipfile reads no more than the declared size, then finds the CRC wrong: reported.
    assert found["package_opf"] is None
    assert any("CRC" in e for e in found["errors"])


def test_epub_with_too_many_members_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_ZIP_MEMBERS", 2)
    found = extract(assets.epub(assets.opf3("")))
    assert found["package_opf"] is None
    assert any("members" in e for e in found["errors"])


def test_epub_hostile_container_xml() -> None:
    container = '<!DOCTYPE c [<!ENTITY e "e">]><container>&e;</container>'
    found = extract(assets.epub(assets.opf3(""), container=container))
    assert found["package_opf"] is None
    assert found["errors"]


def test_truncated_epub() -> None:
    body = assets.epub(assets.opf3('<meta property="tdm:reservation">1</meta>'))
    found = extract(body[: len(body) // 2])
    assert found["format"] == "epub"
    assert found["errors"]


# --- images ---------------------------------------------------------------------------------------

XMP = assets.plus_xmp("DMI-PROHIBITED-AIMLTRAINING")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (assets.jpeg(XMP), "image/jpeg"),
        (assets.png(XMP), "image/png"),
        (assets.png(XMP, compressed=True), "image/png"),
        (assets.webp(XMP), "image/webp"),
        (assets.gif_with_packet(XMP), "image/gif"),  # found by the packet scan
    ],
)
def test_image_xmp_packets(body: bytes, content_type: str) -> None:
    found = extract(body, content_type)
    assert found["format"] == "image"
    assert "DMI-PROHIBITED-AIMLTRAINING" in found["xmp"]
    assert found["xmp"].rstrip().endswith(("</x:xmpmeta>", "?>"))


def test_nul_padding_is_removed() -> None:
    # The observation API refuses NUL characters; NUL padding after a packet is common.
    found = extract(assets.webp(XMP + "\x00" * 100))
    assert "\x00" not in found["xmp"]
    assert found["xmp"].endswith("?>")


@pytest.mark.parametrize("builder", [assets.jpeg, assets.png, assets.webp])
def test_images_without_xmp(builder: Any) -> None:
    found = extract(builder(None))
    assert found["xmp"] is None


def test_a_10_mb_xmp_packet_is_cut_to_the_cap() -> None:
    huge = assets.xmp_packet("<dc:description>" + "x" * (10 * 1024 * 1024) + "</dc:description>")
    found = extract(assets.webp(huge))
    assert len(found["xmp"].encode()) <= MAX_XMP_BYTES
    assert any("cut" in e for e in found["errors"])


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xd8\xff\xe1\xff\xff" + b"\x00" * 10,  # a segment longer than the file
        b"\xff\xd8\xff" + bytes(range(256)) * 100,  # junk after the signature
        b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffiTXt",  # a chunk longer than the file
        b"RIFF\x00\x00\x00\x00WEBPXMP \xff\xff\xff\xff<x:xmpmeta",
        b"GIF89a<x:xmpmeta no end",
    ],
)
def test_hostile_images_never_raise(body: bytes) -> None:
    found = extract(body)
    assert found["format"] == "image"


# --- C2PA -----------------------------------------------------------------------------------------

CAWG = {
    "label": "cawg.training-mining",
    "data": {
        "entries": {
            "cawg.ai_generative_training": {"use": "notAllowed"},
            "cawg.data_mining": {"use": "constrained", "constraint_info": "ask first"},
        }
    },
}


def test_c2pa_training_mining_assertion_of_a_signed_png() -> None:
    body = assets.c2pa_signed_png([CAWG], assets.png(assets.tdm_xmp("1")))
    found = extract(body, "image/png")
    assert found["errors"] == []
    assert found["c2pa"] == [CAWG]  # c2pa.actions and other assertions are left out
    assert "<tdm:reservation>1</tdm:reservation>" in found["xmp"]


def test_c2pa_assertions_beyond_the_json_budget_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = assets.c2pa_signed_png([CAWG])
    monkeypatch.setattr(module, "MAX_C2PA_JSON", 20)
    found = extract(body)
    assert found["c2pa"] == []
    assert any("dropped" in e for e in found["errors"])


def test_an_image_without_a_manifest_has_no_c2pa() -> None:
    found = extract(assets.png())
    assert found["c2pa"] == []
    assert found["errors"] == []


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Make the named modules fail to import (a crawler installed without them)."""
    missing: set[str] = set()
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in missing:
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    return missing


def test_missing_libraries_are_reported(without: set[str]) -> None:
    without.update({"pikepdf", "c2pa"})
    pdf = extract(b"%PDF-1.7\n%%EOF")
    assert any("pikepdf is not installed" in e for e in pdf["errors"])
    assert any("c2pa-python is not installed" in e for e in pdf["errors"])
    image = extract(assets.png(XMP))
    assert "DMI-PROHIBITED-AIMLTRAINING" in image["xmp"]  # the XMP needs neither library


def test_the_time_budget_skips_later_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "TIME_BUDGET_S", -1.0)
    found = extract(assets.png(XMP))
    assert found["xmp"] is None
    assert any("time budget" in e for e in found["errors"])


def test_no_network_from_the_c2pa_reader() -> None:
    assert module.C2PA_SETTINGS == {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}


def test_never_raises_even_when_a_parser_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(module, "_image_xmp", boom)
    found = extract(assets.png(XMP))
    assert found["errors"] == ["image XMP: RuntimeError: parser bug"]
