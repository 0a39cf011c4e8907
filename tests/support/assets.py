"""Test fixtures for embedded metadata, built in code: PDFs with an XMP packet (pikepdf), EPUB
archives, JPEG/PNG/WebP containers with an XMP packet (written byte by byte, no image library),
C2PA-signed PNGs (c2pa-python with a throw-away ES256 chain from ``cryptography``), and hostile
inputs (a ZIP bomb, a truncated PDF). Nothing binary is checked in."""

from __future__ import annotations

import datetime
import io
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
TDM_XMP_NS = "http://www.w3.org/ns/tdmrep/"
PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/"


def xmp_packet(description: str, namespaces: Mapping[str, str] | None = None) -> str:
    """A complete XMP packet whose one rdf:Description holds ``description`` (its properties)."""
    ns = {"tdm": TDM_XMP_NS, "plus": PLUS_NS, "dc": "http://purl.org/dc/elements/1.1/"}
    ns.update(namespaces or {})
    declarations = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in ns.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf="{RDF_NS}">\n'
        f'  <rdf:Description rdf:about="" {declarations}>\n'
        f"{description}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )


def tdm_xmp(reservation: str = "1", policy: str | None = None) -> str:
    """An XMP packet with TDMRep's properties in the element form."""
    lines = [f"   <tdm:reservation>{reservation}</tdm:reservation>"]
    if policy is not None:
        lines.append(f"   <tdm:policy>{policy}</tdm:policy>")
    return xmp_packet("\n".join(lines))


def plus_xmp(value: str) -> str:
    """An XMP packet with plus:DataMining set to the DMI code ``value`` (full vocabulary URI)."""
    return xmp_packet(f"   <plus:DataMining>{PLUS_VOCAB}{value}</plus:DataMining>")


# --- PDF -----------------------------------------------------------------------------------------


def pdf_with_xmp(xmp: str | bytes | None, *, compress: bool = False) -> bytes:
    """A one-page PDF whose catalog has ``xmp`` as its /Metadata stream (pikepdf)."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    if xmp is not None:
        data = xmp.encode("utf-8") if isinstance(xmp, str) else xmp
        stream = pikepdf.Stream(pdf, b"")
        if compress:
            stream.write(zlib.compress(data), filter=pikepdf.Name.FlateDecode)
        else:
            stream.write(data)
        stream["/Type"] = pikepdf.Name.Metadata
        stream["/Subtype"] = pikepdf.Name.XML
        pdf.Root["/Metadata"] = pdf.make_indirect(stream)
    out = io.BytesIO()
    # As written: no recompression, and no rewrite of the XMP by pikepdf's metadata fixer.
    pdf.save(
        out,
        compress_streams=False,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        fix_metadata_version=False,
    )
    return out.getvalue()


# --- EPUB ----------------------------------------------------------------------------------------

CONTAINER_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n'
    "  <rootfiles>\n"
    '    <rootfile full-path="{path}" media-type="application/oebps-package+xml"/>\n'
    "  </rootfiles>\n"
    "</container>\n"
)


def opf3(metas: str, prefix: str | None = "tdm: http://www.w3.org/ns/tdmrep#") -> str:
    """An EPUB 3 package document with ``metas`` in its metadata."""
    prefix_attribute = f' prefix="{prefix}"' if prefix else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
        f'unique-identifier="uid"{prefix_attribute}>\n'
        '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        '    <dc:identifier id="uid">urn:uuid:0</dc:identifier>\n'
        "    <dc:title>Title</dc:title>\n"
        f"    {metas}\n"
        "  </metadata>\n"
        '  <manifest><item id="c" href="c.xhtml" media-type="application/xhtml+xml"/></manifest>\n'
        '  <spine><itemref idref="c"/></spine>\n'
        "</package>\n"
    )


def opf2(metas: str) -> str:
    """An EPUB 2 (OPF 2.0) package document with ``metas`` in its metadata."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="uid">\n'
        '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:opf="http://www.idpf.org/2007/opf">\n'
        '    <dc:identifier id="uid">urn:uuid:0</dc:identifier>\n'
        "    <dc:title>Title</dc:title>\n"
        f"    {metas}\n"
        "  </metadata>\n"
        "</package>\n"
    )


def epub(
    opf: str | bytes | None,
    *,
    path: str = "OEBPS/content.opf",
    container: str | None = None,
    extra: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """An EPUB (OCF ZIP): the stored ``mimetype`` first, container.xml, the package document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), b"application/epub+zip", compress_type=zipfile.ZIP_STORED
        )
        archive.writestr(
            "META-INF/container.xml",
            container if container is not None else CONTAINER_XML.format(path=path),
            compress_type=zipfile.ZIP_DEFLATED,
        )
        if opf is not None:
            archive.writestr(path, opf, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("OEBPS/c.xhtml", "<html/>", compress_type=zipfile.ZIP_DEFLATED)
        for name, data in extra:
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def epub_bomb(inflated_bytes: int = 200 * 1024 * 1024) -> bytes:
    """An EPUB whose package document inflates to ``inflated_bytes`` of spaces (a ZIP bomb: a
    few hundred KiB on the wire). Written in chunks, so building it stays small in memory."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), b"application/epub+zip", compress_type=zipfile.ZIP_STORED
        )
        archive.writestr(
            "META-INF/container.xml",
            CONTAINER_XML.format(path="OEBPS/content.opf"),
            compress_type=zipfile.ZIP_DEFLATED,
        )
        info = zipfile.ZipInfo("OEBPS/content.opf")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            chunk = b" " * (1024 * 1024)
            for _ in range(inflated_bytes // len(chunk)):
                member.write(chunk)
    return out.getvalue()


# --- images --------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(xmp: str | None = None, *, compressed: bool = False) -> bytes:
    """A valid 1x1 RGB PNG, with ``xmp`` in an iTXt "XML:com.adobe.xmp" chunk when given."""
    chunks = [_png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))]
    if xmp is not None:
        text = xmp.encode("utf-8")
        flag = b"\x01\x00" if compressed else b"\x00\x00"
        payload = zlib.compress(text) if compressed else text
        chunks.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00" + flag + b"\x00\x00" + payload))
    chunks.append(_png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")))
    chunks.append(_png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def jpeg(xmp: str | None = None) -> bytes:
    """A JPEG container: SOI, APP0 (JFIF), an APP1 XMP segment when given, SOS and EOI. The scan
    data is not a decodable image; the segment structure is what the extractor reads."""
    parts = [
        b"\xff\xd8",
        b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    ]
    if xmp is not None:
        payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp.encode("utf-8")
        parts.append(b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload)
    parts.append(b"\xff\xda" + struct.pack(">H", 2) + b"\x00" * 4 + b"\xff\xd9")
    return b"".join(parts)


def webp(xmp: str | None = None) -> bytes:
    """A WebP RIFF container (VP8X header chunk, an ``XMP `` chunk when given)."""
    chunks = [b"VP8X" + struct.pack("<I", 10) + b"\x04" + b"\x00" * 9]
    if xmp is not None:
        data = xmp.encode("utf-8")
        chunks.append(
            b"XMP " + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")
        )
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def gif_with_packet(xmp: str) -> bytes:
    """A GIF header followed by an XMP application extension (read by the packet scan)."""
    return (
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00"
        + b"\x21\xff\x0bXMP DataXMP"
        + xmp.encode("utf-8")
        + b"\x00\x3b"
    )


# --- C2PA ----------------------------------------------------------------------------------------


def _es256_chain() -> tuple[bytes, bytes]:
    """(certificate chain PEM: signer then root, signer's PKCS#8 key PEM), valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Fixture Root"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fixtures"),
        ]
    )
    usage = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Fixture Signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fixtures"),
        ]
    )
    signer = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    chain = signer.public_bytes(serialization.Encoding.PEM) + root.public_bytes(
        serialization.Encoding.PEM
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return chain, private


def c2pa_signed_png(
    assertions: Sequence[Mapping[str, object]], source: bytes | None = None
) -> bytes:
    """``source`` (a PNG; a plain 1x1 one by default) with a C2PA manifest holding a
    ``c2pa.created`` action and ``assertions``, signed offline with a throw-away ES256 chain."""
    import c2pa  # type: ignore[import-untyped]

    chain, private = _es256_chain()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, private, None))
    manifest = {
        "claim_generator_info": [{"name": "fixtures", "version": "1"}],
        "title": "fixture.png",
        "format": "image/png",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": (
                                "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
                            ),
                        }
                    ]
                },
            },
            *assertions,
        ],
    }
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    builder = c2pa.Builder(manifest, context)
    out = io.BytesIO()
    with builder:
        builder.sign(signer, "image/png", io.BytesIO(source or png()), out)
    signer.close()
    return out.getvalue()
