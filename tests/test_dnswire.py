"""dnswire.decode reads every message as dnspython does (its reference), and writes queries as it does."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys

import dns.flags
import dns.ipv6
import dns.message
import dns.name
import dns.rcode
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseflag.net import dnswire
from caseflag.net.dnssession import Query
from conftest import fuzzed
from dnsserver import HOSTILE, TCP_ONLY_NAMES, ZONES

RDTYPES = ["A", "AAAA", "NS", "TXT", "CNAME"]


def both(wire: bytes, query: bytes) -> tuple:
    """What the seam (fast reader first) and dnspython alone make of one message: a Reply, None,
    or the type of the error raised."""
    outcomes = []
    for fast in (True, False):
        try:
            outcomes.append(dnswire.decode(wire, query, fast=fast))
        except Exception as err:  # noqa: BLE001 - the kind of failure is what is compared
            outcomes.append(type(err))
    return tuple(outcomes)


def ask(server, query: bytes, transport: str) -> bytes | None:
    """The test server's real answer to a query, over UDP or TCP (None when it sends nothing)."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(1.0)
        sock.connect((server.host, server.port))
        try:
            if transport == "udp":
                sock.send(query)
                return sock.recv(65535)
            sock.sendall(struct.pack("!H", len(query)) + query)
            data = b""
            while chunk := sock.recv(65535):
                data += chunk
            return data[2:]
        except TimeoutError:
            return None


@pytest.fixture(scope="module")
def real_answers(dns_server):
    """(query, answer) pairs from the test DNS server: every zone name and type, names it does not
    know, SERVFAIL, truncated and TCP answers, and the hostile modes' garbage."""
    names = sorted(ZONES) + ["megaupload.com", "servfail.com", "WWW.CF-Shop.com"]
    names += [name for name, mode in HOSTILE.items() if mode not in ("late", "tcp_stall")]
    pairs = []
    for number, name in enumerate(names):
        for rdtype in RDTYPES:
            query = number.to_bytes(2, "big") + dnswire.encode_query(name, rdtype)[2:]
            transports = ["udp", "tcp"] if name in TCP_ONLY_NAMES or HOSTILE.get(name) in ("huge", "tcp_garbage") \
                else ["udp"]
            pairs += [(query, answer) for transport in transports
                      if (answer := ask(dns_server, query, transport)) is not None]
    assert len(pairs) > 5 * len(ZONES)
    return pairs


def test_the_servers_answers_read_the_same_both_ways(real_answers):
    read = 0
    for query, answer in real_answers:
        fast, reference = both(answer, query)
        assert fast == reference, (query, answer)
        read += isinstance(reference, dnswire.Reply)
    assert read > 4 * len(ZONES)  # most were answers, not errors


def test_damaged_real_answers_read_the_same_both_ways(real_answers):
    """Bytes changed, cut off or added to the server's answers: the same Reply, None or error."""

    @settings(max_examples=3000, deadline=None, database=None)
    @given(st.sampled_from(real_answers), st.lists(st.tuples(st.integers(0, 200), st.binary(min_size=1, max_size=3)),
                                                   max_size=3),
           st.one_of(st.none(), st.integers(0, 200)), st.binary(max_size=12))
    def each(pair, patches, cut, tail):
        fuzzed("dnswire_damaged_real_answers")
        query, answer = pair
        wire = bytearray(answer)
        for at, patch in patches:
            wire[at:at + len(patch)] = patch
        data = bytes(wire[:cut] if cut is not None else wire) + tail
        fast, reference = both(data, query)
        assert fast == reference, data

    each()


LABELS = st.sampled_from(["www", "WWW", "cdn", "a", "x-1", "_dmarc", "ns1", "shop", "b\\.c", "sp ace", "ümlaut"])
NAMES = st.lists(LABELS, min_size=1, max_size=3).map(lambda labels: ".".join(labels + ["example", "com"]))


@st.composite
def responses(draw):
    """A query and a response to it (or to a near question) with a random answer section: the right
    records, CNAME chains (also broken, forked and looping ones), unrelated records, other record
    types and sections, other rcodes and ids, the question echoed in other letters."""
    qname, qtype = draw(NAMES), draw(st.sampled_from(RDTYPES))
    query = dns.message.make_query(qname, qtype)
    query.id = draw(st.integers(0, 0xFFFF))
    asked = draw(st.sampled_from([qname, qname.upper(), "other.example.com"]))
    response = dns.message.make_response(dns.message.make_query(asked, draw(st.sampled_from([qtype, qtype, "MX"]))))
    response.id = draw(st.sampled_from([query.id, query.id, query.id ^ 1]))
    response.set_rcode(draw(st.sampled_from([dns.rcode.NOERROR] * 6 + [dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL,
                                                                         dns.rcode.REFUSED])))
    owners = [qname] + draw(st.lists(NAMES, max_size=4))
    for _ in range(draw(st.integers(0, 6))):
        owner = draw(st.sampled_from(owners))
        rdtype = draw(st.sampled_from(["A", "AAAA", "NS", "CNAME", "CNAME", "MX", "TXT"]))
        response.answer.append(dns.rrset.from_text(dns.name.from_text(owner), draw(st.integers(0, 2**32 - 1)),
                                                   "IN", rdtype, draw(_rdata(rdtype, owners))))
    if draw(st.booleans()):
        response.flags |= dns.flags.TC
    if draw(st.integers(0, 9)) == 0:
        response.authority.append(dns.rrset.from_text("example.com.", 60, "IN", "SOA", "ns. host. 1 2 3 4 5"))
    return query.to_wire(), response.to_wire()


def _rdata(rdtype: str, owners: list[str]):
    if rdtype == "A":
        return st.sampled_from(["104.16.0.1", "1.1.1.1", "0.0.0.0"])
    if rdtype == "AAAA":
        return st.sampled_from(["2606:4700::1", "::ffff:1.2.3.4", "2001:db8:0:1::", "::"])
    if rdtype in ("NS", "CNAME"):
        return st.sampled_from(owners).map(lambda name: dns.name.from_text(name).to_text())
    if rdtype == "MX":
        return st.just("10 mail.example.com.")
    return st.lists(TXT_PIECES, min_size=1, max_size=3).map(
        lambda strings: " ".join('"' + "".join(f"\\{byte:03d}" for byte in s) + '"' for s in strings))


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_generated_answers_read_the_same_both_ways(case):
    fuzzed("dnswire_generated_answers")
    query, wire = case
    fast, reference = both(wire, query)
    assert fast == reference, dns.message.from_wire(wire).to_text()


TXT_PIECES = st.lists(st.sampled_from([b"", b"15133 | ", b"\xc3", b"\xa9", b"\xff", b"\x00"]) | st.binary(max_size=6),
                      max_size=3).map(b"".join)  # UTF-8 split between strings, and bytes that are not UTF-8


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(TXT_PIECES, min_size=1, max_size=3), min_size=1, max_size=3))
def test_txt_answers_read_the_same_both_ways(records):
    """Team Cymru's answers are TXT: each record's strings joined, then read as UTF-8, as dnspython's are."""
    fuzzed("dnswire_txt_answers")
    query = dnswire.encode_query("1.1.1.1.origin.asn.cymru.com", "TXT")
    response = dns.message.make_response(dns.message.from_wire(query))
    for strings in records:
        text = " ".join('"' + "".join(f"\\{byte:03d}" for byte in s) + '"' for s in strings)
        response.answer.append(dns.rrset.from_text("1.1.1.1.origin.asn.cymru.com.", 60, "IN", "TXT", text))
    fast, reference = both(response.to_wire(), query)
    assert fast == reference and fast.records


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(RDTYPES))
def test_noise_reads_the_same_both_ways(noise, rdtype):
    fuzzed("dnswire_noise")
    query = dnswire.encode_query("cf-shop.com", rdtype)
    assert both(noise, query)[0] == both(noise, query)[1]
    assert both(query[:2] + noise, query)[0] == both(query[:2] + noise, query)[1]


def test_the_common_answers_are_read_without_dnspython():
    """The fast reader does read the common answers (one A; a CNAME to two addresses; NS; Team
    Cymru's TXT): decoding them imports none of dnspython's message code."""
    code = """
import sys
import dns.message, dns.rrset
from caseflag.net import dnswire
cases = [("www.shop.example", "A", [("www.shop.example.", "CNAME", ["shop.cdn.example."]),
                                    ("shop.cdn.example.", "A", ["104.16.0.1", "104.16.0.2"])]),
         ("shop.example", "AAAA", [("shop.example.", "AAAA", ["2606:4700::1"])]),
         ("shop.example", "NS", [("shop.example.", "NS", ["ns1.host.example.", "ns2.host.example."])]),
         ("1.1.1.1.origin.asn.cymru.com", "TXT", [("1.1.1.1.origin.asn.cymru.com.", "TXT", ['"13335 | 1.1.1.0/24"'])])]
wires = []
for name, rdtype, rrsets in cases:
    response = dns.message.make_response(dns.message.make_query(name, rdtype, id=0))
    for owner, kind, values in rrsets:
        response.answer.append(dns.rrset.from_text(owner, 60, "IN", kind, *values))
    wires.append((dnswire.encode_query(name, rdtype), response.to_wire()))
for module in [m for m in sys.modules if m.startswith("dns.")]:
    del sys.modules[module]
print([dnswire.decode(wire, query).records for query, wire in wires])
print(sorted(m for m in ("dns.message", "dns.resolver", "dns.name", "dns.rdata") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines() == [
        "[('104.16.0.1', '104.16.0.2'), ('2606:4700::1',), ('ns1.host.example', 'ns2.host.example'), "
        "('13335 | 1.1.1.0/24',)]", "[]"]


@given(NAMES, st.sampled_from(RDTYPES))
def test_queries_are_byte_for_byte_dnspythons(name, rdtype):
    assert dnswire.encode_query(name, rdtype) == dns.message.make_query(name, rdtype, id=0).to_wire()


def test_unusual_names_are_asked_and_read_back():
    query = Query("b\\.c.example.com", "A")
    query.id = 7
    sent = dns.message.from_wire(query.wire())
    assert sent.id == 7 and sent.question[0].name == dns.name.from_text("b\\.c.example.com")
    response = dns.message.make_response(sent)
    response.answer.append(dns.rrset.from_text("b\\.c.example.com.", 60, "IN", "A", "104.16.0.1"))
    assert query.read(response.to_wire()).records == ("104.16.0.1",)


_GROUPS = st.sampled_from([0, 0, 0, 1, 0xFFFF, 0x2606, 0x4700, 0x0DB8, 0x00AB, 0xABCD, 0x1000])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_GROUPS, min_size=8, max_size=8) | st.binary(min_size=16, max_size=16).map(
    lambda raw: [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 16, 2)]))
def test_aaaa_texts_are_dnspythons(groups):
    """AAAA records are written as text by the C library where it and dnspython agree: every
    address, zero runs of every length and place included (the embedded-IPv4 forms are dnspython's)."""
    fuzzed("dnswire_aaaa_texts")
    address = b"".join(group.to_bytes(2, "big") for group in groups)
    query = dnswire.encode_query("cf-shop.com", "AAAA")
    wire = query[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + query[12:] + \
        b"\xc0\x0c\x00\x1c\x00\x01\x00\x00\x00\x3c\x00\x10" + address
    fast, reference = both(wire, query)
    assert fast == reference and fast.records == (dns.ipv6.inet_ntoa(address),)
