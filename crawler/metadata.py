"""The embedded metadata of a non-HTML asset, extracted for the observation the crawler posts.

:func:`extract_metadata` reads what a rights holder can write inside a file rather than around
it: the XMP packet of a PDF (the document catalog's ``/Metadata`` stream) or of an image (JPEG
APP1, PNG ``iTXt`` ``XML:com.adobe.xmp``, WebP ``XMP `` chunk, or a bounded scan for the packet in
other containers), the package document of an EPUB (named by ``META-INF/container.xml``), and the
training-and-data-mining assertions of the active C2PA manifest. The service decides what they
mean (``optout_service/checks/embedded.py``); this module only reads, and sends text, never the
asset.

Bounds: at most 256 KiB of XMP and of package document (a larger one is sent cut, and said so),
64 KiB of C2PA assertion JSON, a declared-size check and a bounded read for every ZIP member, a
bounded inflate for a compressed ``/Metadata`` stream, and a time budget between steps (a native
parser, qpdf or c2pa-rs, cannot be interrupted mid-call; the fetcher's body cap bounds its work).
It never raises: whatever goes wrong is one line in ``errors``. pikepdf and c2pa are imported
only when an asset needs them; a missing one is reported in ``errors``.

No C2PA remote manifest and no OCSP responder is fetched: the crawler contacts only URLs that
the service allowed.
"""

from __future__ import annotations

import io
import json
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_XMP_BYTES = 256 * 1024
MAX_OPF_BYTES = 256 * 1024
MAX_CONTAINER_BYTES = 64 * 1024  # META-INF/container.xml
MAX_C2PA_JSON = 64 * 1024  # the assertions' JSON, all together
MAX_C2PA_ASSERTIONS = 64  # what the observation API accepts
MAX_ZIP_MEMBERS = 10_000  # an EPUB with more is not read
TIME_BUDGET_S = 5.0  # steps started after this are skipped (and reported)
MAX_ERRORS = 16
MAX_ERROR_CHARS = 300

XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_JPEG_EXTENDED = b"http://ns.adobe.com/xmp/extension/\x00"
XMP_PNG_KEYWORD = b"XML:com.adobe.xmp"
EPUB_MIMETYPE = b"application/epub+zip"

# c2pa-rs settings: no network from inside the reader (remote manifests, OCSP).
C2PA_SETTINGS: dict[str, object] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}
TRAINING_MINING_LABEL = re.compile(r"^(?:cawg|c2pa)\.training-mining(?:\.v\d+)?(?:__\d+)?$")

_IMAGE_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "avif": "image/avif",
    "heif": "image/heif",
    "jxl": "image/jxl",
    "svg": "image/svg+xml",
}
_EXTENSIONS = {
    ".pdf": ("pdf", "application/pdf"),
    ".epub": ("epub", "application/epub+zip"),
    ".jpg": ("image", "image/jpeg"),
    ".jpeg": ("image", "image/jpeg"),
    ".png": ("image", "image/png"),
    ".webp": ("image", "image/webp"),
    ".gif": ("image", "image/gif"),
    ".tif": ("image", "image/tiff"),
    ".tiff": ("image", "image/tiff"),
    ".avif": ("image", "image/avif"),
    ".heic": ("image", "image/heif"),
    ".svg": ("image", "image/svg+xml"),
}


@dataclass(slots=True)
class _Extract:
    format: str
    started: float
    xmp: str | None = None
    package_opf: str | None = None
    c2pa: list[dict[str, object]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            text = " ".join(message.replace("\x00", " ").split())
            self.errors.append(text[:MAX_ERROR_CHARS])

    def out_of_time(self, step: str) -> bool:
        if time.monotonic() - self.started > TIME_BUDGET_S:
            self.error(f"{step} skipped: the {TIME_BUDGET_S:g} s time budget was spent")
            return True
        return False

    def as_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "xmp": self.xmp,
            "package_opf": self.package_opf,
            "c2pa": self.c2pa,
            "errors": self.errors,
        }


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# --- which format --------------------------------------------------------------------------------


def _sniff(body: bytes) -> tuple[str, str] | None:
    """(format, media type) from the first bytes; None when no known signature is there."""
    head = body[:64]
    # A PDF header may follow some junk (readers accept it within the first KiB).
    if b"%PDF-" in body[:1024]:
        return "pdf", "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        # OCF: the first member is an uncompressed "mimetype" holding the media type.
        if body[30:38] == b"mimetype" and body[38:58] == EPUB_MIMETYPE:
            return "epub", "application/epub+zip"
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "image", _IMAGE_TYPES["jpeg"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", _IMAGE_TYPES["png"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", _IMAGE_TYPES["webp"]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", _IMAGE_TYPES["gif"]
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image", _IMAGE_TYPES["tiff"]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "image", _IMAGE_TYPES["avif"]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
            return "image", _IMAGE_TYPES["heif"]
        return None
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "image", _IMAGE_TYPES["jxl"]
    return None


def _from_content_type(content_type: str | None, url: str) -> tuple[str, str] | None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/pdf":
        return "pdf", media
    if media == "application/epub+zip":
        return "epub", media
    if media.startswith("image/"):
        return "image", media
    if media in ("", "application/octet-stream", "binary/octet-stream"):
        # No usable type: the URL's extension is the last hint.
        path = urlsplit(url).path.lower()
        for extension, found in _EXTENSIONS.items():
            if path.endswith(extension):
                return found
    return None


# --- XMP -----------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """Text from XMP or package-document bytes, without NULs (the observation API refuses them;
    NUL padding after a packet is common, and NUL is never valid in XML)."""
    return _decode_any(data).replace("\x00", "")


def _decode_any(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if len(data) >= 2 and data[0] == 0 and data[1] != 0:
        return data.decode("utf-16-be", errors="replace")
    if len(data) >= 2 and data[0] != 0 and data[1] == 0:
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _keep_xmp(data: bytes, out: _Extract, where: str) -> None:
    if len(data) > MAX_XMP_BYTES:
        out.error(f"{where}: XMP packet of {len(data)} bytes cut at {MAX_XMP_BYTES}")
        data = data[:MAX_XMP_BYTES]
    out.xmp = _decode(data)


def _inflate(data: bytes, limit: int) -> tuple[bytes, bool]:
    """zlib-inflate at most ``limit`` bytes; (output, True when there was more)."""
    inflater = zlib.decompressobj()
    output = inflater.decompress(data, limit)
    return output, bool(inflater.unconsumed_tail) or (len(output) >= limit and not inflater.eof)


def _scan_packet(body: bytes) -> bytes | None:
    """The XMP packet found by its markers (a bounded byte scan of the container)."""
    start = -1
    for marker in (b"<x:xmpmeta", b"<x:xapmeta"):
        start = body.find(marker)
        if start >= 0:
            break
    if start < 0:
        return None
    begin = body.rfind(b"<?xpacket begin", max(0, start - 256), start)
    if begin >= 0:
        start = begin
    window = body[start : start + MAX_XMP_BYTES + 64 * 1024]
    for closing in (b"</x:xmpmeta>", b"</x:xapmeta>"):
        end = window.find(closing)
        if end >= 0:
            return window[: end + len(closing)]
    return window  # no end within the cap: the service notes a packet it cannot parse


def _jpeg_xmp(body: bytes, out: _Extract) -> bytes | None:
    position = 2
    while position + 4 <= len(body):
        if body[position] != 0xFF:
            return None  # lost sync: not a segment boundary
        marker = body[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after this
            return None
        (length,) = struct.unpack(">H", body[position + 2 : position + 4])
        segment = body[position + 4 : position + 2 + length]
        if marker == 0xE1 and segment.startswith(XMP_JPEG_HEADER):
            return segment[len(XMP_JPEG_HEADER) :]
        if marker == 0xE1 and segment.startswith(XMP_JPEG_EXTENDED):
            out.error("JPEG extended XMP segments are not read")
        position += 2 + length
    return None


def _png_xmp(body: bytes, out: _Extract) -> bytes | None:
    position = 8
    while position + 8 <= len(body):
        length, kind = struct.unpack(">I4s", body[position : position + 8])
        data = body[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IEND":
            return None
        if kind != b"iTXt":
            continue
        keyword, _, rest = data.partition(b"\x00")
        if keyword != XMP_PNG_KEYWORD or len(rest) < 2:
            continue
        compressed, text = rest[0], rest[2:]
        _language, _, text = text.partition(b"\x00")
        _translated, _, text = text.partition(b"\x00")
        if compressed:
            inflated, more = _inflate(text, MAX_XMP_BYTES + 1)
            if more:
                out.error("PNG compressed XMP larger than the cap: cut")
            return inflated
        return text
    return None


def _webp_xmp(body: bytes) -> bytes | None:
    position = 12
    while position + 8 <= len(body):
        kind, length = struct.unpack("<4sI", body[position : position + 8])
        if kind == b"XMP ":
            return body[position + 8 : position + 8 + length]
        position += 8 + length + (length & 1)
    return None


def _image_xmp(body: bytes, media_type: str, out: _Extract) -> None:
    packet: bytes | None = None
    if body.startswith(b"\xff\xd8"):
        packet = _jpeg_xmp(body, out)
    elif body.startswith(b"\x89PNG\r\n\x1a\n"):
        packet = _png_xmp(body, out)
    elif body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        packet = _webp_xmp(body)
    if packet is None:
        # GIF, TIFF, HEIF/AVIF, SVG, JPEG XL, or a packet placed outside the usual spot: the
        # packet is text between known markers, so a bounded scan finds it.
        packet = _scan_packet(body)
    if packet is not None:
        _keep_xmp(packet, out, media_type)


# --- PDF -----------------------------------------------------------------------------------------


def _pdf_xmp(body: bytes, out: _Extract) -> None:
    try:
        import pikepdf
    except ImportError:
        out.error("pikepdf is not installed: the PDF's XMP was not read")
        return
    # Only the catalog's /Metadata stream is read; qpdf loads other objects lazily.
    with pikepdf.open(io.BytesIO(body)) as pdf:
        metadata = pdf.Root.get("/Metadata")
        if metadata is None:
            return
        if not isinstance(metadata, pikepdf.Stream):
            out.error("PDF /Metadata is not a stream")
            return
        filters = metadata.get("/Filter")
        if isinstance(filters, pikepdf.Array):
            names = [str(f) for f in filters]
        elif filters is None:
            names = []
        else:
            names = [str(filters)]
        raw = metadata.read_raw_bytes()  # as stored: at most the size of the body
        if not names:
            data = raw
        elif names == ["/FlateDecode"] and metadata.get("/DecodeParms") is None:
            data, more = _inflate(raw, MAX_XMP_BYTES + 1)
            if more:
                out.error("PDF /Metadata inflates beyond the cap: cut")
        else:
            out.error(f"PDF /Metadata filter {names} is not read")
            return
        _keep_xmp(data, out, "PDF /Metadata")


# --- EPUB ----------------------------------------------------------------------------------------


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, out: _Extract) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        out.error(f"EPUB has no {name}")
        return None
    if info.file_size > limit:
        out.error(f"EPUB {name} declares {info.file_size} bytes: only {limit} read")
    # A bounded read: the declared size may lie, the stream inflates only what is asked for.
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        if info.file_size <= limit:
            out.error(f"EPUB {name} is larger than it declares: cut at {limit}")
        data = data[:limit]
    return data


def _rootfile(container: bytes) -> str | None:
    """The package document's path from META-INF/container.xml (the first OPF rootfile)."""
    import defusedxml.ElementTree as DefusedET  # type: ignore[import-untyped]

    root: Any = DefusedET.fromstring(container, forbid_dtd=True)
    candidates: list[tuple[str, str]] = []
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] == "rootfile":
            path = (element.get("full-path") or "").strip()
            if path:
                candidates.append((path, (element.get("media-type") or "").strip().lower()))
    for path, media_type in candidates:
        if media_type == "application/oebps-package+xml":
            return path
    return candidates[0][0] if candidates else None


def _epub_opf(body: bytes, out: _Extract) -> None:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            out.error(f"EPUB has {len(members)} members (more than {MAX_ZIP_MEMBERS}): not read")
            return
        container = _read_member(archive, "META-INF/container.xml", MAX_CONTAINER_BYTES, out)
        if container is None:
            return
        path = _rootfile(container)
        if path is None:
            out.error("EPUB container.xml names no package document")
            return
        opf = _read_member(archive, path.lstrip("/"), MAX_OPF_BYTES, out)
        if opf is not None:
            out.package_opf = _decode(opf)


# --- C2PA ----------------------------------------------------------------------------------------


def _c2pa(body: bytes, media_type: str, out: _Extract) -> None:
    try:
        import c2pa  # type: ignore[import-untyped]
    except ImportError:
        out.error("c2pa-python is not installed: C2PA manifests were not read")
        return
    context = c2pa.Context.from_dict(C2PA_SETTINGS)
    reader = c2pa.Reader.try_create(media_type, io.BytesIO(body), None, context)
    if reader is None:
        return  # no manifest
    with reader:
        manifest = reader.get_active_manifest()
        if not isinstance(manifest, dict):
            out.error("C2PA manifest store has no readable active manifest")
            return
        assertions = manifest.get("assertions")
        if not isinstance(assertions, list):
            return
        budget = MAX_C2PA_JSON
        for assertion in assertions:
            if not isinstance(assertion, dict):
                continue
            label = assertion.get("label")
            if not isinstance(label, str) or not TRAINING_MINING_LABEL.match(label):
                continue
            if len(out.c2pa) >= MAX_C2PA_ASSERTIONS:
                out.error(f"C2PA assertions beyond {MAX_C2PA_ASSERTIONS} dropped")
                break
            data = assertion.get("data")
            size = len(json.dumps(data, ensure_ascii=False, default=str))
            if size > budget:
                out.error(f"C2PA assertion {label} dropped: beyond {MAX_C2PA_JSON} bytes of JSON")
                continue
            budget -= size
            # The data went through json already (c2pa's own JSON): it is JSON-ready.
            out.c2pa.append({"label": label, "data": data if isinstance(data, dict) else {}})


# --- entry point ---------------------------------------------------------------------------------


def _step(out: _Extract, name: str, run: Callable[[], None]) -> None:
    if out.out_of_time(name):
        return
    try:
        run()
    except Exception as exc:  # hostile input: whatever the parsers raise is reported
        out.error(f"{name}: {_describe(exc)}")


def extract_metadata(body: bytes, content_type: str | None, url: str) -> dict[str, object] | None:
    """The JSON-ready embedded metadata of a PDF, EPUB or image; None for any other format.

    ``{"format": "pdf"|"epub"|"image", "xmp": str|None, "package_opf": str|None,
    "c2pa": [{"label": str, "data": {...}}, ...], "errors": [str, ...]}``. The format is read from
    the bytes first (servers mislabel files), then from the content type, then from the URL's
    extension when the type says nothing. Never raises.
    """
    try:
        found = _sniff(body) or _from_content_type(content_type, url)
        if found is None:
            return None
        kind, media_type = found
        out = _Extract(kind, time.monotonic())
        if kind == "pdf":
            _step(out, "PDF XMP", lambda: _pdf_xmp(body, out))
        elif kind == "epub":
            _step(out, "EPUB package document", lambda: _epub_opf(body, out))
        else:
            _step(out, "image XMP", lambda: _image_xmp(body, media_type, out))
        _step(out, "C2PA manifest", lambda: _c2pa(body, media_type, out))
        return out.as_dict()
    except Exception as exc:  # a last guard: the promise is "never raises"
        fallback = _Extract("unknown", 0.0)
        fallback.error(_describe(exc))
        return fallback.as_dict()
