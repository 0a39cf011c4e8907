"""EmbeddedMetadataCheck: TDMRep in XMP and EPUB package documents, IPTC PLUS plus:DataMining,
CAWG/C2PA training-and-data-mining assertions. The specifications' examples and normative
statements are ported as data tables, each with a comment saying where it comes from."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import pytest

from optout_service.checks.base import Asset, EmbeddedMetadata, Finding
from optout_service.checks.combine import combine
from optout_service.checks.embedded import (
    SIGNAL,
    EmbeddedMetadataCheck,
    Reason,
    TdmStatement,
    embedded_findings,
    read_tdm,
)
from optout_service.purposes import ALL_PURPOSES, Purpose
from tests.support.assets import opf2, opf3, plus_xmp, tdm_xmp, xmp_packet

TRAIN = frozenset({Purpose.TRAIN_AI})
TDM = frozenset({Purpose.TRAIN_AI, Purpose.AI_INPUT})
INPUT = frozenset({Purpose.AI_INPUT})
NONE: frozenset[Purpose] = frozenset()


def asset(metadata: EmbeddedMetadata | None) -> Asset:
    return Asset(
        url="https://example.org/a.pdf",
        final_url="https://example.org/a.pdf",
        status=200,
        headers=(),
        content_type="application/pdf",
        html=None,
        token="ExampleBot",
        purposes=frozenset({Purpose.TRAIN_AI}),
        metadata=metadata,
    )


def run(
    *,
    xmp: str | None = None,
    opf: str | None = None,
    c2pa: Sequence[Mapping[str, object]] = (),
    errors: Sequence[str] = (),
) -> list[Finding]:
    metadata = EmbeddedMetadata(xmp=xmp, package_opf=opf, c2pa=c2pa, errors=errors)
    return list(EmbeddedMetadataCheck().check(asset(metadata)))


def codes(findings: Sequence[Finding]) -> list[str]:
    return [f.reason for f in findings]


# --- TDMRep ---------------------------------------------------------------------------------------

# TDMRep CG final report (https://www.w3.org/2022/tdmrep/), "TDM Metadata in PDF files": the XMP
# properties tdm:reservation and tdm:policy in the namespace http://www.w3.org/ns/tdmrep/, here in
# the shape of the report's example (a reservation with a policy on provider.com).
SPEC_PDF_XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:tdm="http://www.w3.org/ns/tdmrep/">
   <tdm:reservation>1</tdm:reservation>
   <tdm:policy>https://provider.com/policies/policy.json</tdm:policy>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""

# Same report, "TDM Metadata in EPUB 3 files": the package declares the tdm prefix and carries
# <meta property="tdm:reservation">1</meta> and <meta property="tdm:policy">...</meta>.
SPEC_EPUB3 = opf3(
    '<meta property="tdm:reservation">1</meta>\n'
    '    <meta property="tdm:policy">https://provider.com/policies/policy.json</meta>'
)
# Same report, "TDM Metadata in EPUB 2 files": <meta name="tdm:reservation" content="1"/>.
SPEC_EPUB2 = opf2(
    '<meta name="tdm:reservation" content="1"/>\n'
    '    <meta name="tdm:policy" content="https://provider.com/policies/policy.json"/>'
)
# An earlier draft of the report (w3c/tdm-reservation-protocol, spec/tdmrep-epub.html, section
# "TDM Metadata in EPUB files"): xmlns:tdm=".../tdmrep/xml" and property="tdm-reservation".
DRAFT_EPUB = (
    '<package xmlns="http://www.idpf.org/2007/opf" xmlns:tdm="http://www.w3.org/ns/tdmrep/xml" '
    'version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:title>Document title</dc:title>"
    '<meta property="tdm-reservation">1</meta>'
    '<meta property="tdm-policy">https://provider.com/policies/policy.json</meta>'
    "</metadata></package>"
)

POLICY = "https://provider.com/policies/policy.json"


@pytest.mark.parametrize(
    ("carrier", "xmp", "opf", "code"),
    [
        ("PDF XMP (report example)", SPEC_PDF_XMP, None, Reason.XMP_TDM_RESERVED),
        ("EPUB 3 (report example)", None, SPEC_EPUB3, Reason.EPUB_TDM_RESERVED),
        ("EPUB 2 (report example)", None, SPEC_EPUB2, Reason.EPUB_TDM_RESERVED),
        ("EPUB (early draft)", None, DRAFT_EPUB, Reason.EPUB_TDM_RESERVED),
    ],
)
def test_tdmrep_examples_reserve_tdm_with_the_policy_as_licence(
    carrier: str, xmp: str | None, opf: str | None, code: Reason
) -> None:
    found = run(xmp=xmp, opf=opf)
    assert found == [Finding(code, reserves=TDM, license=POLICY, detail=found[0].detail)], carrier
    assert read_tdm(EmbeddedMetadata(xmp=xmp, package_opf=opf)) == TdmStatement(1, POLICY)


# TDMRep, section "tdm-reservation": 1 reserved, 0 not reserved; "other values are considered
# protocol errors", read as unset. Section "tdm-policy" (note): with 0 the policy SHOULD NOT be
# processed.
RESERVATION_VALUES = [
    ("1", Reason.XMP_TDM_RESERVED, TDM, NONE),
    (" 1 ", Reason.XMP_TDM_RESERVED, TDM, NONE),
    ("0", Reason.XMP_TDM_NOT_RESERVED, NONE, TDM),
    ("2", Reason.XMP_TDM_INVALID, NONE, NONE),
    ("yes", Reason.XMP_TDM_INVALID, NONE, NONE),
    ("true", Reason.XMP_TDM_INVALID, NONE, NONE),
    ("", Reason.XMP_TDM_INVALID, NONE, NONE),
]


@pytest.mark.parametrize(("value", "code", "reserves", "allows"), RESERVATION_VALUES)
def test_xmp_reservation_values(
    value: str, code: Reason, reserves: frozenset[Purpose], allows: frozenset[Purpose]
) -> None:
    found = run(xmp=tdm_xmp(value, POLICY))
    assert codes(found) == [code]
    assert found[0].reserves == reserves
    assert found[0].allows == allows
    assert found[0].license == (POLICY if code == Reason.XMP_TDM_RESERVED else None)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1", Reason.EPUB_TDM_RESERVED),
        ("0", Reason.EPUB_TDM_NOT_RESERVED),
        ("maybe", Reason.EPUB_TDM_INVALID),
    ],
)
def test_epub_reservation_values_in_both_forms(value: str, code: Reason) -> None:
    epub3 = opf3(f'<meta property="tdm:reservation">{value}</meta>')
    epub2 = opf2(f'<meta name="tdm:reservation" content="{value}"/>')
    assert codes(run(opf=epub3)) == [code]
    assert codes(run(opf=epub2)) == [code]


def test_xmp_attribute_form_and_alternative_namespaces() -> None:
    # The RDF/XML shorthand: properties as attributes of rdf:Description.
    attribute_form = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
        'rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:t="http://www.w3.org/ns/tdmrep#" '
        't:reservation="1" t:policy="https://p.example/policy"/></rdf:RDF></x:xmpmeta>'
    )
    found = run(xmp=attribute_form)
    assert codes(found) == [Reason.XMP_TDM_RESERVED]
    assert found[0].license == "https://p.example/policy"


def test_xmp_other_namespace_is_not_tdmrep() -> None:
    other = xmp_packet(
        "<o:reservation>1</o:reservation>", namespaces={"o": "http://example.org/other/"}
    )
    assert run(xmp=other) == []


def test_epub3_prefix_bound_to_another_name() -> None:
    opf = opf3(
        '<meta property="rsv:reservation">1</meta>', prefix="rsv: http://www.w3.org/ns/tdmrep#"
    )
    assert codes(run(opf=opf)) == [Reason.EPUB_TDM_RESERVED]


def test_epub3_undeclared_tdm_prefix_is_still_read() -> None:
    assert codes(run(opf=opf3('<meta property="tdm:reservation">1</meta>', prefix=None))) == [
        Reason.EPUB_TDM_RESERVED
    ]


def test_reservation_wins_over_a_zero_in_another_carrier() -> None:
    found = run(xmp=tdm_xmp("0"), opf=opf3('<meta property="tdm:reservation">1</meta>'))
    result = combine(found, [Purpose.TRAIN_AI])
    assert result.reserved
    assert result.reasons == (Reason.EPUB_TDM_RESERVED,)
    assert read_tdm(
        EmbeddedMetadata(
            xmp=tdm_xmp("0"), package_opf=opf3('<meta property="tdm:reservation">1</meta>')
        )
    ) == TdmStatement(1, None)


def test_read_tdm_zero_and_unset() -> None:
    assert read_tdm(EmbeddedMetadata(xmp=tdm_xmp("0", POLICY))) == TdmStatement(0, None)
    assert read_tdm(EmbeddedMetadata(xmp=plus_xmp("DMI-PROHIBITED"))) == TdmStatement(None, None)
    assert read_tdm(EmbeddedMetadata()) == TdmStatement(None, None)


# --- IPTC PLUS ------------------------------------------------------------------------------------

# The PLUS "Data Mining" vocabulary (http://ns.useplus.org/ldf/vocab/, values listed in the PLUS
# LDF XMP specification and the IPTC Photo Metadata Standard 2023.1, property plus:DataMining),
# with our purposes for each value.
PLUS_TABLE = [
    ("DMI-UNSPECIFIED", Reason.PLUS_UNSPECIFIED, NONE, NONE),
    ("DMI-ALLOWED", Reason.PLUS_ALLOWED, NONE, ALL_PURPOSES),
    ("DMI-PROHIBITED-AIMLTRAINING", Reason.PLUS_AI_TRAINING_PROHIBITED, TRAIN, NONE),
    ("DMI-PROHIBITED-GENAIMLTRAINING", Reason.PLUS_GENAI_TRAINING_PROHIBITED, TRAIN, NONE),
    (
        "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
        Reason.PLUS_PROHIBITED_EXCEPT_SEARCH,
        TDM,
        frozenset({Purpose.SEARCH}),
    ),
    ("DMI-PROHIBITED", Reason.PLUS_PROHIBITED, ALL_PURPOSES, NONE),
    ("DMI-PROHIBITED-SEECONSTRAINT", Reason.PLUS_PROHIBITED_SEE_TERMS, ALL_PURPOSES, NONE),
    ("DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR", Reason.PLUS_PROHIBITED_SEE_TERMS, ALL_PURPOSES, NONE),
    ("DMI-PROHIBITED-SEELINKEDRIGHTSEXPR", Reason.PLUS_PROHIBITED_SEE_TERMS, ALL_PURPOSES, NONE),
    # Not in the vocabulary: recorded; an unknown prohibition is read as the broadest one.
    ("DMI-ALLOWED-noncommercial", Reason.PLUS_UNKNOWN, NONE, NONE),
    ("DMI-PROHIBITED-SOMEDAY", Reason.PLUS_PROHIBITED, ALL_PURPOSES, NONE),
]


@pytest.mark.parametrize(("value", "code", "reserves", "allows"), PLUS_TABLE)
def test_plus_data_mining_vocabulary(
    value: str, code: Reason, reserves: frozenset[Purpose], allows: frozenset[Purpose]
) -> None:
    found = run(xmp=plus_xmp(value))
    assert codes(found) == [code]
    assert (found[0].reserves, found[0].allows) == (reserves, allows)


@pytest.mark.parametrize(
    "property_xml",
    [
        # Bare code, other case (writers differ).
        "<plus:DataMining>dmi-prohibited-aimltraining</plus:DataMining>",
        # As a URI reference.
        '<plus:DataMining rdf:resource="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"/>',
        # Wrapped in an rdf:Bag.
        "<plus:DataMining><rdf:Bag><rdf:li>http://ns.useplus.org/ldf/vocab/"
        "DMI-PROHIBITED-AIMLTRAINING</rdf:li></rdf:Bag></plus:DataMining>",
        # A qualified value (rdf:parseType="Resource" with rdf:value).
        '<plus:DataMining rdf:parseType="Resource"><rdf:value>http://ns.useplus.org/ldf/vocab/'
        "DMI-PROHIBITED-AIMLTRAINING</rdf:value></plus:DataMining>",
    ],
)
def test_plus_value_forms(property_xml: str) -> None:
    assert codes(run(xmp=xmp_packet(property_xml))) == [Reason.PLUS_AI_TRAINING_PROHIBITED]


def test_plus_attribute_form() -> None:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-'
        'rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/'
        'xmp/1.0/" plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    assert codes(run(xmp=xmp)) == [Reason.PLUS_PROHIBITED]


def test_tdm_and_plus_in_one_packet() -> None:
    xmp = xmp_packet(
        "<tdm:reservation>1</tdm:reservation>\n"
        "<plus:DataMining>http://ns.useplus.org/ldf/vocab/DMI-ALLOWED</plus:DataMining>"
    )
    found = run(xmp=xmp)
    assert codes(found) == [Reason.XMP_TDM_RESERVED, Reason.PLUS_ALLOWED]
    result = combine(found, [Purpose.TRAIN_AI, Purpose.SEARCH])
    assert result.by_purpose[Purpose.TRAIN_AI].state == "reserved"
    assert result.by_purpose[Purpose.SEARCH].state == "allowed"


# --- CAWG / C2PA ----------------------------------------------------------------------------------

# CAWG Training and Data Mining assertion, section "Schema and example": the specification's
# example (training-mining.cbordiag, CAWG 1.1 draft of 11 Nov 2024).
CAWG_EXAMPLE = {
    "label": "cawg.training-mining",
    "data": {
        "cawg.ai_training": {"use": "allowed"},
        "cawg.ai_generative_training": {"use": "notAllowed"},
        "cawg.data_mining": {
            "use": "constrained",
            "constraint_info": "may only be mined on days whose names end in 'y'",
        },
    },
}


def test_cawg_specification_example() -> None:
    found = run(c2pa=[CAWG_EXAMPLE])
    # Entries are read in key order: deterministic whatever order the JSON had.
    assert codes(found) == [
        Reason.C2PA_TRAINING_NOT_ALLOWED,
        Reason.C2PA_TRAINING_ALLOWED,
        Reason.C2PA_MINING_CONSTRAINED,
    ]
    result = combine(found, [Purpose.TRAIN_AI])
    # A permission for non-generative training never lifts the generative reservation.
    assert result.by_purpose[Purpose.TRAIN_AI].state == "reserved"
    assert result.by_purpose[Purpose.AI_INPUT].state == "reserved"  # data_mining constrained
    assert result.by_purpose[Purpose.SEARCH].state == "unknown"


# CAWG, section "Overview": each entry is allowed, notAllowed or constrained; "in the absence of
# additional information, constrained shall be treated as equivalent to notAllowed"; the four
# pre-defined entries; custom keys are allowed. C2PA 1.x used the same entries under "c2pa.".
ENTRY_TABLE = [
    ("cawg.ai_generative_training", "notAllowed", Reason.C2PA_TRAINING_NOT_ALLOWED, TRAIN, NONE),
    ("cawg.ai_training", "notAllowed", Reason.C2PA_TRAINING_NOT_ALLOWED, TRAIN, NONE),
    ("cawg.data_mining", "notAllowed", Reason.C2PA_MINING_NOT_ALLOWED, TDM, NONE),
    ("cawg.ai_inference", "notAllowed", Reason.C2PA_INFERENCE_NOT_ALLOWED, INPUT, NONE),
    ("cawg.ai_training", "constrained", Reason.C2PA_TRAINING_CONSTRAINED, TRAIN, NONE),
    ("cawg.data_mining", "constrained", Reason.C2PA_MINING_CONSTRAINED, TDM, NONE),
    ("cawg.ai_inference", "constrained", Reason.C2PA_INFERENCE_CONSTRAINED, INPUT, NONE),
    ("cawg.ai_training", "allowed", Reason.C2PA_TRAINING_ALLOWED, NONE, TRAIN),
    ("cawg.data_mining", "allowed", Reason.C2PA_MINING_ALLOWED, NONE, TDM),
    ("cawg.ai_inference", "allowed", Reason.C2PA_INFERENCE_ALLOWED, NONE, INPUT),
    ("c2pa.ai_generative_training", "notAllowed", Reason.C2PA_TRAINING_NOT_ALLOWED, TRAIN, NONE),
    ("c2pa.data_mining", "notAllowed", Reason.C2PA_MINING_NOT_ALLOWED, TDM, NONE),
    ("com.example.ai_training", "notAllowed", Reason.C2PA_UNKNOWN, NONE, NONE),
    ("cawg.ai_training", "forbidden", Reason.C2PA_UNKNOWN, NONE, NONE),
]


@pytest.mark.parametrize(("key", "use", "code", "reserves", "allows"), ENTRY_TABLE)
@pytest.mark.parametrize("label", ["cawg.training-mining", "c2pa.training-mining"])
@pytest.mark.parametrize("wrapped", [False, True])
def test_training_mining_entries(
    key: str,
    use: str,
    code: Reason,
    reserves: frozenset[Purpose],
    allows: frozenset[Purpose],
    label: str,
    wrapped: bool,
) -> None:
    entries: dict[str, object] = {key: {"use": use}}
    # The CDDL's flat map, and the "entries" wrapper of C2PA 1.x and c2pa-rs's JSON.
    data = {"entries": entries} if wrapped else entries
    found = run(c2pa=[{"label": label, "data": data}])
    assert codes(found) == [code]
    assert (found[0].reserves, found[0].allows) == (reserves, allows)


def test_constrained_with_a_url_offers_it_as_licence() -> None:
    found = run(
        c2pa=[
            {
                "label": "cawg.training-mining",
                "data": {
                    "cawg.ai_training": {
                        "use": "constrained",
                        "constraints_info": "https://rights.example/ai-licence",
                    }
                },
            }
        ]
    )
    assert codes(found) == [Reason.C2PA_TRAINING_CONSTRAINED]
    assert found[0].license == "https://rights.example/ai-licence"
    assert found[0].reserves == TRAIN


@pytest.mark.parametrize(
    "label", ["cawg.training-mining__1", "c2pa.training-mining.v2", "c2pa.training-mining__2"]
)
def test_versioned_and_repeated_labels(label: str) -> None:
    found = run(c2pa=[{"label": label, "data": {"cawg.ai_training": {"use": "notAllowed"}}}])
    assert codes(found) == [Reason.C2PA_TRAINING_NOT_ALLOWED]


def test_other_assertions_and_bad_shapes() -> None:
    found = run(
        c2pa=[
            {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created"}]}},
            {"label": "cawg.training-mining", "data": ["notAllowed"]},
            {"label": "cawg.training-mining", "data": {"cawg.ai_training": "notAllowed"}},
            {"label": "cawg.training-mining", "data": {"metadata": {"dateTime": "2024"}}},
            "not a map",  # type: ignore[list-item]
        ]
    )
    assert codes(found) == [Reason.C2PA_UNREADABLE, Reason.C2PA_UNREADABLE, Reason.C2PA_UNREADABLE]
    assert all(not f.reserves and not f.allows for f in found)


# --- malformed, hostile, bounded ------------------------------------------------------------------


def test_no_metadata_no_findings() -> None:
    assert list(EmbeddedMetadataCheck().check(asset(None))) == []
    assert run() == []


def test_malformed_xmp_is_noted_and_scanned_for_reservations_only() -> None:
    broken = tdm_xmp("1", POLICY).replace("</rdf:RDF>", "")  # not well-formed
    found = run(xmp=broken)
    assert codes(found) == [Reason.UNREADABLE, Reason.XMP_TDM_RESERVED]
    assert found[1].license == POLICY
    assert found[1].reserves == TDM
    # A broken packet never allows anything.
    assert codes(run(xmp=tdm_xmp("0").replace("</rdf:RDF>", ""))) == [Reason.UNREADABLE]
    broken_plus = plus_xmp("DMI-PROHIBITED-AIMLTRAINING").replace("</x:xmpmeta>", "<")
    assert codes(run(xmp=broken_plus)) == [Reason.UNREADABLE, Reason.PLUS_AI_TRAINING_PROHIBITED]


def test_malformed_opf_is_noted_and_scanned() -> None:
    broken = opf3('<meta property="tdm:reservation">1</meta>').replace("</metadata>", "<<")
    assert codes(run(opf=broken)) == [Reason.UNREADABLE, Reason.EPUB_TDM_RESERVED]
    broken2 = opf2('<meta content="1" name="tdm:reservation">').replace("</package>", "")
    assert codes(run(opf=broken2)) == [Reason.UNREADABLE, Reason.EPUB_TDM_RESERVED]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/">&lol3;</x:xmpmeta>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<package xmlns="http://www.idpf.org/2007/opf"><metadata>&e;</metadata></package>"""


def test_entity_expansion_and_external_entities_are_refused() -> None:
    assert codes(run(xmp=BILLION_LAUGHS)) == [Reason.UNREADABLE]
    assert codes(run(opf=EXTERNAL_ENTITY)) == [Reason.UNREADABLE]


@pytest.mark.parametrize(
    "junk",
    [
        "\x00\x01\x02\xff binary \ufffd\ufffd",
        "not xml at all",
        "<",
        "",
        "\ufeff" + tdm_xmp("1"),  # a BOM before the packet is tolerated
        "<?xml version='1.0' encoding='UTF-16'?>" + tdm_xmp("1"),  # a declared encoding
    ],
)
def test_junk_never_raises(junk: str) -> None:
    found = run(xmp=junk, opf=junk, c2pa=[{"label": "cawg.training-mining", "data": junk}])
    assert all(isinstance(f, Finding) for f in found)
    if "reservation" in junk:
        assert Reason.XMP_TDM_RESERVED in codes(found)


def test_a_10_mb_xmp_is_bounded() -> None:
    padding = "<dc:description>" + "x" * (10 * 1024 * 1024) + "</dc:description>"
    huge = xmp_packet("<tdm:reservation>1</tdm:reservation>\n" + padding)
    started = time.monotonic()
    found = run(xmp=huge)
    assert time.monotonic() - started < 5
    # Too large to parse: noted, and the scan of its beginning still finds the reservation.
    assert codes(found) == [Reason.UNREADABLE, Reason.XMP_TDM_RESERVED]


def test_extractor_errors_are_notes_and_bounded() -> None:
    found = run(errors=["PDF XMP: PdfError: truncated"] * 3 + [f"e{i}" for i in range(40)])
    assert found[0] == Finding(Reason.EXTRACT_ERROR, detail="PDF XMP: PdfError: truncated")
    assert len(found) == 16  # deduplicated, at most MAX_ERROR_NOTES
    assert not combine(found, [Purpose.TRAIN_AI]).reserved


def test_findings_are_deterministic_and_deduplicated() -> None:
    metadata = EmbeddedMetadata(
        xmp=xmp_packet("<tdm:reservation>1</tdm:reservation><tdm:reservation>1</tdm:reservation>"),
        c2pa=[CAWG_EXAMPLE, CAWG_EXAMPLE],
    )
    first = embedded_findings(metadata)
    assert first == embedded_findings(metadata)
    assert len(first) == len(set(first))
    assert codes(list(first)).count(Reason.XMP_TDM_RESERVED) == 1


# --- the table of signals -------------------------------------------------------------------------


def test_signal_documents_every_reason_code() -> None:
    assert set(SIGNAL.reasons) == set(Reason)
    assert SIGNAL.reading
    assert SIGNAL.purposes
    assert "https://www.w3.org/2022/tdmrep/" in SIGNAL.source
    assert all(code.value == code.value.lower() and "." in code.value for code in Reason)
    assert EmbeddedMetadataCheck.name == "embedded"
    assert list(EmbeddedMetadataCheck().linked(asset(None))) == []


# --- from the crawler's extract to the check ----------------------------------------------------


def _through_the_crawler(body: bytes, content_type: str) -> list[str]:
    from crawler.metadata import extract_metadata

    extracted = extract_metadata(body, content_type, "https://example.org/asset")
    assert extracted is not None
    metadata = EmbeddedMetadata(
        xmp=extracted["xmp"],  # type: ignore[arg-type]
        package_opf=extracted["package_opf"],  # type: ignore[arg-type]
        c2pa=extracted["c2pa"],  # type: ignore[arg-type]
        format=extracted["format"],  # type: ignore[arg-type]
        errors=extracted["errors"],  # type: ignore[arg-type]
    )
    return codes(list(EmbeddedMetadataCheck().check(asset(metadata))))


def test_end_to_end_real_files() -> None:
    from tests.support import assets

    assert _through_the_crawler(assets.pdf_with_xmp(SPEC_PDF_XMP), "application/pdf") == [
        Reason.XMP_TDM_RESERVED
    ]
    assert _through_the_crawler(assets.epub(SPEC_EPUB3), "application/epub+zip") == [
        Reason.EPUB_TDM_RESERVED
    ]
    assert _through_the_crawler(
        assets.jpeg(plus_xmp("DMI-PROHIBITED-GENAIMLTRAINING")), "image/jpeg"
    ) == [Reason.PLUS_GENAI_TRAINING_PROHIBITED]
    signed = assets.c2pa_signed_png([CAWG_EXAMPLE], assets.png(plus_xmp("DMI-ALLOWED")))
    assert _through_the_crawler(signed, "image/png") == [
        Reason.PLUS_ALLOWED,
        Reason.C2PA_TRAINING_NOT_ALLOWED,
        Reason.C2PA_TRAINING_ALLOWED,
        Reason.C2PA_MINING_CONSTRAINED,
    ]
    truncated = assets.pdf_with_xmp(SPEC_PDF_XMP)[:200]
    assert set(_through_the_crawler(truncated, "application/pdf")) <= {
        Reason.EXTRACT_ERROR,
        Reason.XMP_TDM_RESERVED,
    }
