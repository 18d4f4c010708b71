"""dnswire reads the common DNS exchange the way dnspython does, and hands everything else back."""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseflag.net import dnswire
from caseflag.net.dnssession import Query
from caseflag.net.network import _answer_from_message, _answer_from_reply

LABELS = st.sampled_from(["www", "WWW", "cdn", "a", "x-1", "_dmarc", "ns1", "shop", "b\\.c", "sp ace", "ümlaut"])
NAMES = st.lists(LABELS, min_size=1, max_size=3).map(lambda labels: ".".join(labels + ["example", "com"]))
QTYPES = st.sampled_from(["A", "AAAA", "NS"])


@st.composite
def responses(draw):
    """A response to `qname qtype` with a random answer section: the right records, CNAME chains
    (also broken, forked and looping ones), unrelated records and other record types."""
    qname = draw(NAMES)
    qtype = draw(QTYPES)
    query = dns.message.make_query(qname, qtype)
    response = dns.message.make_response(query)
    response.set_rcode(draw(st.sampled_from([dns.rcode.NOERROR] * 6 + [dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL,
                                                                         dns.rcode.REFUSED])))
    owners = [qname] + draw(st.lists(NAMES, max_size=4))
    for _ in range(draw(st.integers(0, 6))):
        owner = draw(st.sampled_from(owners))
        rdtype = draw(st.sampled_from(["A", "AAAA", "NS", "CNAME", "CNAME", "MX", "TXT"]))
        ttl = draw(st.integers(0, 2**31 - 1))
        if rdtype == "A":
            value = draw(st.sampled_from(["104.16.0.1", "1.1.1.1", "0.0.0.0"]))
        elif rdtype == "AAAA":
            value = draw(st.sampled_from(["2606:4700::1", "::ffff:1.2.3.4", "2001:db8:0:1::", "::"]))
        elif rdtype in ("NS", "CNAME"):
            value = dns.name.from_text(draw(st.sampled_from(owners))).to_text()
        elif rdtype == "MX":
            value = "10 mail.example.com."
        else:
            value = '"v=spf1 -all"'
        response.answer.append(dns.rrset.from_text(dns.name.from_text(owner), ttl, "IN", rdtype, value))
    if draw(st.booleans()):
        response.flags |= dns.flags.TC
    return qname, qtype, query, response


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_reads_what_dnspython_reads(case):
    qname, qtype, query, response = case
    wire = response.to_wire()
    reply = dnswire.read_reply(wire)
    by_dnspython = _answer_from_message(qname, qtype, dns.message.from_wire(wire))
    if reply is None:
        return  # handed back: dnspython decides
    assert reply.truncated == bool(response.flags & dns.flags.TC)
    if dnswire.build_query(0, qname, qtype) is not None:  # an unusual name's answer is always dnspython's to read
        assert reply.answers(qname, dnswire.RDTYPES[qtype]) == query.is_response(dns.message.from_wire(wire))
        # told the question it was asked, it skips reading it back, and reads the same
        question = dnswire.question_of(dnswire.build_query(0, qname, qtype))
        assert dnswire.read_reply(wire, question, qname.lower().rstrip(".")) == reply
    by_dnswire = _answer_from_reply(qname, qtype, reply)
    if by_dnswire is not None:
        assert by_dnswire == by_dnspython, response.to_text()


def test_the_common_answers_are_read_here_not_handed_back():
    query = dns.message.make_query("www.shop.example", "A")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("www.shop.example.", 300, "IN", "CNAME", "shop.cdn.example."))
    response.answer.append(dns.rrset.from_text("shop.cdn.example.", 60, "IN", "A", "104.16.0.1", "104.16.0.2"))
    reply = dnswire.read_reply(response.to_wire())
    assert reply is not None and reply.answers("www.shop.example", dnswire.A)
    answer = _answer_from_reply("www.shop.example", "A", reply)
    assert (answer.status, answer.records, answer.ttl, answer.cnames) == (
        "ok", ("104.16.0.1", "104.16.0.2"), 60, ("shop.cdn.example",))
    assert answer == _answer_from_message("www.shop.example", "A", dns.message.from_wire(response.to_wire()))


@pytest.mark.parametrize("wire", [
    b"", b"\x00" * 11, b"\x00\x01\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\xc0\x0c",  # pointer to itself
    b"\x00\x01\x81\x80\x00\x01\x00\x05\x00\x00\x00\x00\x03www\x00\x00\x01\x00\x01",  # answers promised, none
    b"\x00\x01\x81\x80\x00\x02\x00\x00\x00\x00\x00\x00",  # two questions
])
def test_malformed_messages_are_handed_back(wire):
    assert dnswire.read_reply(wire) is None


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=120), st.integers(0, 200), st.binary(min_size=1, max_size=4))
def test_damaged_messages_never_raise(noise, at, patch):
    query = dns.message.make_query("cf-shop.com", "A")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("cf-shop.com.", 300, "IN", "A", "104.16.0.1"))
    wire = bytearray(response.to_wire())
    wire[at:at + len(patch)] = patch
    dnswire.read_reply(bytes(wire))
    dnswire.read_reply(noise)
    question = dnswire.question_of(dnswire.build_query(0, "cf-shop.com", "A"))
    assert dnswire.read_reply(bytes(wire), question, "cf-shop.com") == dnswire.read_reply(bytes(wire))


def test_a_question_echoed_in_other_letters_is_read_back_whole():
    """A server may echo the question in other letters (DNS 0x20): then it is read, not assumed."""
    query = dns.message.make_query("CF-Shop.com", "A")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("cf-shop.com.", 300, "IN", "A", "104.16.0.1"))
    wire = response.to_wire()
    question = dnswire.question_of(dnswire.build_query(0, "cf-shop.com", "A"))
    assert question not in wire
    reply = dnswire.read_reply(wire, question, "cf-shop.com")
    assert reply == dnswire.read_reply(wire) and reply.qname == "cf-shop.com" and reply.records[0][3] == "104.16.0.1"


@given(NAMES, QTYPES, st.integers(0, 0xFFFF))
def test_queries_are_byte_for_byte_dnspythons(name, rdtype, qid):
    wire = dnswire.build_query(qid, name, rdtype)
    if wire is None:  # a label that needs escaping or IDNA: dnspython writes it
        assert not all(label.isascii() and label.replace("-", "").replace("_", "").isalnum()
                       for label in name.split("."))
        return
    message = dns.message.make_query(name, rdtype)
    message.id = qid
    assert wire == message.to_wire()


def test_unusual_names_are_written_by_dnspython():
    query = Query("b\\.c.example.com", "A")
    query.id = 7
    sent = dns.message.from_wire(query.wire())
    assert sent.id == 7
    assert sent.question[0].name == dns.name.from_text("b\\.c.example.com")


_GROUPS = st.sampled_from([0, 0, 0, 1, 0xFFFF, 0x2606, 0x4700, 0x0DB8, 0x00AB, 0xABCD, 0x1000])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_GROUPS, min_size=8, max_size=8) | st.binary(min_size=16, max_size=16).map(
    lambda raw: [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 16, 2)]))
def test_ipv6_text_is_dnspythons(groups):
    """AAAA records are written as text by the C library where it and dnspython agree: every
    address, zero runs of every length and place included (the embedded-IPv4 forms are dnspython's)."""
    import dns.ipv6

    address = b"".join(group.to_bytes(2, "big") for group in groups)
    assert dnswire.ipv6_text(address) == dns.ipv6.inet_ntoa(address)
