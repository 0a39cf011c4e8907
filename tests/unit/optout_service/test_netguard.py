"""The address and host policy of the fetcher's SSRF guard, as pure functions over tables."""

from __future__ import annotations

import ipaddress

import pytest

from optout_service.netguard import (
    address_refusal,
    host_refusal,
    is_allowed,
    normalise_suffixes,
    parse_host,
)

# (address, the class it falls in, where that fact comes from)
REFUSED_ADDRESSES = [
    ("0.0.0.0", "unspecified", "RFC 1122 3.2.1.3"),
    ("0.1.2.3", "this network", "RFC 1122 3.2.1.3"),
    ("10.1.2.3", "private", "RFC 1918"),
    ("172.16.0.1", "private", "RFC 1918"),
    ("172.31.255.254", "private", "RFC 1918"),
    ("192.168.0.1", "private", "RFC 1918"),
    ("100.64.0.1", "CGNAT", "RFC 6598"),
    ("100.127.255.254", "CGNAT", "RFC 6598"),
    ("127.0.0.1", "loopback", "RFC 1122 3.2.1.3"),
    ("127.255.255.254", "loopback", "RFC 1122 3.2.1.3"),
    ("169.254.169.254", "link-local, cloud metadata", "RFC 3927"),
    ("192.0.0.170", "IETF protocol assignments (NAT64 discovery)", "RFC 6890, RFC 7050"),
    ("192.0.2.1", "documentation TEST-NET-1", "RFC 5737"),
    ("198.51.100.1", "documentation TEST-NET-2", "RFC 5737"),
    ("203.0.113.1", "documentation TEST-NET-3", "RFC 5737"),
    ("192.88.99.1", "6to4 relay anycast", "RFC 7526"),
    ("198.18.0.1", "benchmarking", "RFC 2544"),
    ("198.19.255.254", "benchmarking", "RFC 2544"),
    ("224.0.0.1", "multicast", "RFC 5771"),
    ("239.255.255.250", "multicast (SSDP)", "RFC 5771"),
    ("240.0.0.1", "reserved", "RFC 1112 4"),
    ("255.255.255.255", "limited broadcast", "RFC 919"),
    ("::", "unspecified", "RFC 4291 2.5.2"),
    ("::1", "loopback", "RFC 4291 2.5.3"),
    ("fe80::1", "link-local", "RFC 4291 2.5.6"),
    ("fe80::1%eth0", "link-local with a zone id", "RFC 4007 11"),
    ("fec0::1", "site-local (deprecated)", "RFC 3879"),
    ("fc00::1", "unique local", "RFC 4193"),
    ("fd12:3456:789a::1", "unique local", "RFC 4193"),
    ("ff02::1", "multicast", "RFC 4291 2.7"),
    ("ff0e::1", "multicast, global scope", "RFC 4291 2.7"),
    ("100::1", "discard-only", "RFC 6666"),
    ("2001:db8::1", "documentation", "RFC 3849"),
    ("3fff::1", "documentation", "RFC 9637"),
    ("2001:2::1", "benchmarking", "RFC 5180"),
    ("4000::1", "outside global unicast 2000::/3", "RFC 4291 2.4"),
    ("5f00::1", "SRv6 SIDs, outside 2000::/3", "RFC 9602"),
    ("2606:4700::1111%eth0", "zone id on a global address", "RFC 4007 11"),
    # IPv6 forms that carry a refused IPv4 address
    ("::ffff:127.0.0.1", "IPv4-mapped loopback", "RFC 4291 2.5.5.2"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata", "RFC 4291 2.5.5.2"),
    ("::ffff:7f00:1", "IPv4-mapped loopback, hex form", "RFC 4291 2.5.5.2"),
    ("::127.0.0.1", "IPv4-compatible (deprecated) loopback", "RFC 4291 2.5.5.1"),
    ("::8.8.8.8", "IPv4-compatible (deprecated), any inner", "RFC 4291 2.5.5.1"),
    ("::ffff:0:127.0.0.1", "IPv4-translated (in ::/8)", "RFC 2765 2.1"),
    ("64:ff9b::127.0.0.1", "NAT64 well-known prefix, loopback", "RFC 6052 2.1"),
    ("64:ff9b::a00:1", "NAT64 well-known prefix, private 10.0.0.1", "RFC 6052 3.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 well-known prefix, metadata", "RFC 6052 2.1"),
    ("64:ff9b:1::7f00:1", "local-use NAT64, /96 layout", "RFC 8215"),
    ("64:ff9b:1:7f00:0:100::", "local-use NAT64, /48 layout", "RFC 8215, RFC 6052 2.2"),
    ("64:ff9b:1::808:808", "local-use NAT64, embedding ambiguous", "RFC 8215"),
    ("2002:7f00:1::", "6to4 of loopback", "RFC 3056 2"),
    ("2002:a9fe:a9fe::1", "6to4 of metadata", "RFC 3056 2"),
    ("2002:c0a8:1::1", "6to4 of 192.168.0.1", "RFC 3056 2"),
    # Teredo: server in bits 32-63, client bits 96-127 inverted (0x80fffffe = ~127.0.0.1)
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, client loopback", "RFC 4380 4"),
    ("2001:0:7f00:1:8000:63bf:f7f7:f7f7", "Teredo, server loopback", "RFC 4380 4"),
]

ALLOWED_ADDRESSES = [
    ("8.8.8.8", "public IPv4"),
    ("93.184.215.14", "public IPv4"),
    ("1.1.1.1", "public IPv4"),
    ("100.63.255.255", "just below CGNAT"),
    ("100.128.0.0", "just above CGNAT"),
    ("172.32.0.1", "just above 172.16/12"),
    ("192.31.196.1", "AS112-v4, globally reachable"),
    ("223.255.255.254", "just below multicast"),
    ("2606:4700:4700::1111", "public IPv6"),
    ("2a00:1450:4001:81b::200e", "public IPv6"),
    ("::ffff:8.8.8.8", "IPv4-mapped public"),
    ("64:ff9b::808:808", "NAT64 well-known prefix of a public address"),
    ("2002:808:808::1", "6to4 of a public address"),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo, public server and client 8.8.8.8"),
]


@pytest.mark.parametrize(("address", "kind", "source"), REFUSED_ADDRESSES)
def test_refused_addresses(address: str, kind: str, source: str) -> None:
    assert address_refusal(address) is not None, f"{address} ({kind}, {source})"
    assert not is_allowed(address)
    if "%" not in address:
        assert address_refusal(ipaddress.ip_address(address)) == address_refusal(address)


@pytest.mark.parametrize(("address", "kind"), ALLOWED_ADDRESSES)
def test_allowed_addresses(address: str, kind: str) -> None:
    assert address_refusal(address) is None, kind
    assert is_allowed(address)


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("64:ff9b::7f00:1", ["NAT64", "127.0.0.1", "loopback"]),
        ("2002:a9fe:a9fe::1", ["6to4", "169.254.169.254", "link-local"]),
        ("::ffff:10.0.0.1", ["IPv4-mapped", "10.0.0.1", "private"]),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["Teredo", "127.0.0.1"]),
    ],
)
def test_a_wrapped_refusal_names_the_inner_address(address: str, words: list[str]) -> None:
    reason = address_refusal(address)
    assert reason is not None
    assert all(word in reason for word in words), reason


def test_a_non_address_is_an_error() -> None:
    with pytest.raises(ValueError):
        address_refusal("example.com")


# URL hosts as httpx hands them on (no brackets, IDNA-encoded): (host, why it is refused)
REFUSED_HOSTS = [
    ("127.0.0.1", "loopback literal"),
    ("127.0.0.1.", "loopback literal with the root dot"),
    ("::1", "IPv6 loopback literal"),
    ("[::1]", "bracketed, as urlsplit().netloc has it"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("64:ff9b::7f00:1", "NAT64 of loopback"),
    ("2002:7f00:1::", "6to4 of loopback"),
    ("fe80::1%eth0", "zone id (RFC 6874)"),
    ("fe80::1%25eth0", "zone id, percent-encoded as in a URL (RFC 6874)"),
    ("2606:4700::1111%25eth0", "zone id on a global address"),
    ("127.1", "short IPv4 form (inet_aton)"),
    ("0x7f.1", "hex IPv4 form"),
    ("0x7f000001", "hex integer IPv4 form"),
    ("2130706433", "decimal integer IPv4 form"),
    ("0177.0.0.1", "octal IPv4 form"),
    ("127.000.000.001", "zero-padded dotted quad"),
    ("1.2.3.999", "numeric but not an address"),
    ("8.8.8.8.8", "five numeric labels"),
    ("example.123", "numeric last label (WHATWG: an IPv4 host)"),
    ("example.0x1", "hex last label (WHATWG: an IPv4 host)"),
    ("127%2e0%2e0%2e1", "percent-encoded dots: a proxy may decode them"),
    ("exa mple.com", "space"),
    ("a..example.com", "empty label"),
    ("", "empty"),
    ("localhost", "RFC 6761 6.3"),
    ("LOCALHOST.", "RFC 6761 6.3, case and root dot"),
    ("api.localhost", "RFC 6761 6.3"),
    ("localhost.localdomain", "/etc/hosts convention"),
    ("printer.local", "multicast DNS, RFC 6762"),
    ("router.home.arpa", "RFC 8375"),
    ("db.internal", "ICANN private-use TLD"),
    ("wiki.corp", "RFC 6762 appendix G"),
    ("nas.lan", "RFC 6762 appendix G"),
    ("intranet", "single label, completed by search domains"),
    ("metadata", "single label (GCE's metadata name is metadata.google.internal)"),
    ("metadata.google.internal", "ICANN private-use TLD"),
]

ALLOWED_HOSTS = [
    "www.harbourgazette.co.uk",
    "WWW.Example.COM",
    "example.com.",
    "xn--zca.de",
    "a-b_c.example.com",
    "localhost.example.com",
    "local.example.com",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "64:ff9b::808:808",
    "1.example.com",
    "example.com1",
]


@pytest.mark.parametrize(("host", "why"), REFUSED_HOSTS)
def test_refused_hosts(host: str, why: str) -> None:
    assert host_refusal(host) is not None, why


@pytest.mark.parametrize("host", ALLOWED_HOSTS)
def test_allowed_hosts(host: str) -> None:
    assert host_refusal(host) is None


def test_operator_suffixes_are_refused_like_localhost() -> None:
    suffixes = normalise_suffixes(["Corp.Example.com.", ".svc.cluster.local"])
    assert suffixes == ("corp.example.com", "svc.cluster.local")
    assert host_refusal("wiki.corp.example.com", suffixes) is not None
    assert host_refusal("corp.example.com", suffixes) is not None
    assert host_refusal("notcorp.example.com", suffixes) is None
    assert host_refusal("www.example.com", suffixes) is None


@pytest.mark.parametrize("suffix", ["", "10.0.0.1", "bad suffix", "::1"])
def test_bad_operator_suffixes_are_errors(suffix: str) -> None:
    with pytest.raises(ValueError):
        normalise_suffixes([suffix])


@pytest.mark.parametrize(
    ("host", "parsed"),
    [
        ("Example.COM.", "example.com"),
        ("8.8.8.8.", ipaddress.IPv4Address("8.8.8.8")),
        ("[2606:4700::1111]", ipaddress.IPv6Address("2606:4700::1111")),
        ("::FFFF:8.8.8.8", ipaddress.IPv6Address("::ffff:808:808")),
    ],
)
def test_parse_host_normalises(host: str, parsed: object) -> None:
    assert parse_host(host) == parsed
