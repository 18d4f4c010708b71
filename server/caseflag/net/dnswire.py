"""DNS messages on the wire: a query written, its answer read. dnspython is the reference.

This is a speed seam (issue 19). dnspython writes a query in ~50 µs and reads an answer in ~70 µs
(`from_wire`, `is_response`, `resolve_chaining`); a batch asks three questions a name, and the
common answer (one question; A, AAAA, NS, CNAME or TXT records with plain host names; nothing in
the other sections) is written and read here in ~3 µs each. With dnspython alone,
`bench/run.py --only p3` read 0.23-0.36 (target 0.5) where this seam read 0.67-0.77 and the code
before it 0.69-1.32, in runs alternating on the same busy machine (2026-12-07, Intel): 10,000
names took 8.6-9.7 s of CPU instead of 2.4-2.9 s. Any other message (unusual names or record types, a
forked CNAME chain, anything malformed) is read by dnspython inside `decode`, and the tests feed
every message to both readers and hold them to one result.
"""

from __future__ import annotations

import re
import socket
import struct
from typing import NamedTuple

import dns.exception
import dns.ipv6

__all__ = ["Reply", "decode", "encode_query"]  # the seam; the rest is how it reads the common case

_RDTYPES = {"A": 1, "NS": 2, "CNAME": 5, "TXT": 16, "AAAA": 28}
_A, _NS, _CNAME, _TXT, _AAAA = 1, 2, 5, 16, 28
_IN = 1
_QR, _TC, _RD, _OPCODE = 0x8000, 0x0200, 0x0100, 0x7800
_MAX_CHAIN = 16  # as dnspython: a longer CNAME chain is an error

_HEADER = struct.Struct("!HHHHHH")
_QUESTION = struct.Struct("!HH")
_RECORD = struct.Struct("!HHIH")
# Labels whose text form needs no escaping; anything else is left to dnspython.
_PLAIN_LABEL = re.compile(rb"[A-Za-z0-9_-]{1,63}")
# A name of such labels joined by dots: one match per name, with a count of the dots for a label that held one.
_PLAIN_LABELS = re.compile(rb"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_ZERO_PREFIX = bytes(10)


class Reply(NamedTuple):  # a tuple: one is made for every answer, and tuples are cheap to make
    """An answer to one query, read: the rcode, and for NOERROR what the question resolves to.

    records: the data at the end of the question's CNAME chain, sorted; host names lowercase and
    without the final dot, TXT as the text its strings carry. cnames: the chain walked from the
    question's name to them; with no records, every CNAME target in the answer section.
    problem: why a NOERROR answer cannot be used (a CNAME chain too long), else "".
    """

    rcode: int
    truncated: bool
    records: tuple[str, ...] = ()
    ttl: int | None = None
    cnames: tuple[str, ...] = ()
    problem: str = ""


def encode_query(name: str, rdtype: str) -> bytes:
    """A recursive query for `name` with id 0, byte for byte what dnspython's make_query writes."""
    qname = _plain_qname(name)
    if qname is None:  # a label that needs escaping or IDNA
        import dns.message

        return dns.message.make_query(name, rdtype, id=0).to_wire()
    return _HEADER.pack(0, _RD, 1, 0, 0, 0) + qname + _QUESTION.pack(_RDTYPES[rdtype], _IN)


def decode(wire: bytes, query: bytes, *, fast: bool = True) -> Reply | None:
    """The answer in `wire` to `query` (the message sent, id included); None when it is a well-formed
    message but not a response to that query (as dnspython's Message.is_response decides).

    Raises dns.exception.DNSException (or ValueError) when the message is malformed.
    fast=False reads with dnspython alone, the reference the tests compare with.
    """
    if fast:
        try:
            return _decode_common(wire, query)
        except (_Unusual, struct.error, IndexError):
            pass
    return _decode_by_dnspython(wire, query)


class _Unusual(Exception):
    """The message is not the common case; dnspython reads it."""


def _plain_qname(name: str) -> bytes | None:
    try:
        raw = name.encode("ascii").rstrip(b".")
    except UnicodeEncodeError:
        return None
    labels = raw.split(b".")
    if len(raw) > 253 or not all(_PLAIN_LABEL.fullmatch(label) for label in labels):
        return None
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"


def _decode_common(wire: bytes, query: bytes) -> Reply | None:
    _, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire, 0)
    if qdcount != 1 or nscount or arcount or flags & _OPCODE:
        raise _Unusual("not one question, other sections, or not a QUERY")
    seen: dict[int, str] = {}
    qname, pos = _read_name(wire, 12, seen)
    qtype, qclass = _QUESTION.unpack_from(wire, pos)
    pos += _QUESTION.size
    question = wire[12:pos]
    records = []
    for _ in range(ancount):
        owner, pos = _read_name(wire, pos, seen)
        rdtype, rdclass, ttl, length = _RECORD.unpack_from(wire, pos)
        end = pos + 10 + length
        if end > len(wire) or rdclass != _IN:
            raise _Unusual("a short record, or not class IN")
        ttl = ttl if ttl <= 0x7FFFFFFF else 0  # RFC 2181: a TTL with its top bit set counts as zero
        records.append((owner, rdtype, ttl, _read_rdata(wire, pos + 10, end, rdtype, seen)))
        pos = end
    if pos != len(wire):
        raise _Unusual("bytes after the last record")
    if wire[:2] != query[:2] or not flags & _QR:
        return None
    if question != query[12:]:  # servers echo the question byte for byte; else compare it as dnspython does
        asked, at = _read_name(query, 12, {})
        if (asked, *_QUESTION.unpack_from(query, at)) != (qname, qtype, qclass):
            return None
    if flags & 0xF:
        return Reply(flags & 0xF, bool(flags & _TC))
    return _resolve(bool(flags & _TC), qname, qtype, records)


def _resolve(truncated: bool, qname: str, qtype: int, records: list) -> Reply:
    """Follow the CNAME chain from the question, as dnspython's resolve_chaining does."""
    if len(records) == 1 and records[0][0] == qname and records[0][1] == qtype:  # most answers
        return Reply(0, truncated, (records[0][3],), records[0][2])
    name, chain = qname, []
    while True:
        matching = [(ttl, text) for owner, rdtype, ttl, text in records if owner == name and rdtype == qtype]
        cnames = [text for owner, rdtype, _, text in records if owner == name and rdtype == _CNAME]
        if len(cnames) > 1:  # dnspython keeps the last; rare enough to leave to it
            raise _Unusual("several CNAME records for one name")
        if matching:
            texts = tuple(sorted({text for _, text in matching}))
            return Reply(0, truncated, texts, min(ttl for ttl, _ in matching), tuple(chain))
        if not cnames or qtype == _CNAME:
            return Reply(0, truncated, cnames=_cname_targets(records))
        if len(chain) + 1 >= _MAX_CHAIN or cnames[0] in chain or cnames[0] == qname:
            raise _Unusual("a CNAME chain that loops or is too long")
        chain.append(cnames[0])
        name = cnames[0]


def _cname_targets(records: list) -> tuple[str, ...]:
    # As in dnspython, a name holds one CNAME: a later record replaces an earlier one.
    by_owner: dict[str, str] = {}
    for owner, rdtype, _, text in records:
        if rdtype == _CNAME:
            by_owner[owner] = text
    return tuple(by_owner.values())


def _read_rdata(wire: bytes, pos: int, end: int, rdtype: int, seen: dict[int, str]) -> str:
    if rdtype == _A and end - pos == 4:
        return socket.inet_ntoa(wire[pos:end])
    if rdtype == _AAAA and end - pos == 16:
        return _ipv6_text(wire[pos:end])
    if rdtype in (_NS, _CNAME):
        target, after = _read_name(wire, pos, seen)
        if after == end:
            return target
    if rdtype == _TXT and end > pos:  # its strings joined: the text they carry (Team Cymru's ASN answers)
        return _txt_text(wire[pos:end])
    raise _Unusual(f"record type {rdtype} or its length")


def _txt_text(rdata: bytes) -> str:
    parts, pos = [], 0
    while pos < len(rdata):
        size = rdata[pos]
        if pos + 1 + size > len(rdata):
            raise _Unusual("a TXT string runs past its record")
        parts.append(rdata[pos + 1:pos + 1 + size])
        pos += 1 + size
    return b"".join(parts).decode("utf-8", "replace")


def _ipv6_text(address: bytes) -> str:
    """dns.ipv6.inet_ntoa's text for 16 bytes, from the C library where the two agree: everywhere
    but addresses starting with 80 zero bits (the embedded-IPv4 forms), left to dnspython."""
    if address[:10] == _ZERO_PREFIX:
        return dns.ipv6.inet_ntoa(address)
    return socket.inet_ntop(socket.AF_INET6, address)


def _read_name(wire: bytes, pos: int, seen: dict[int, str]) -> tuple[str, int]:
    """A (possibly compressed) name at pos: its lowercase text and the offset after it.

    seen: the names already read from this message by offset, where compression points back to.
    """
    start = pos
    labels: list[bytes] = []
    suffix = ""
    after = None
    limit = pos  # as dnspython: every pointer must go further back than the last
    while True:
        length = wire[pos]
        if length >= 0xC0:
            pointer = (length & 0x3F) << 8 | wire[pos + 1]
            if after is None:
                after = pos + 2
            if pointer >= limit:
                raise _Unusual("a compression pointer that does not point back")
            if pointer in seen:
                suffix = seen[pointer]
                break
            pos = limit = pointer
            continue
        if length > 63:
            raise _Unusual("a reserved label type")
        if length == 0:
            break
        labels.append(wire[pos + 1:pos + 1 + length])
        pos += 1 + length
    raw = b".".join(labels)
    if labels and (not _PLAIN_LABELS.fullmatch(raw) or raw.count(b".") != len(labels) - 1):
        raise _Unusual("a label that needs escaping")
    text = raw.decode("ascii").lower()
    text = f"{text}.{suffix}" if text and suffix else text or suffix
    if not text or len(text) > 253:
        raise _Unusual("the root name, or a name longer than 255 bytes")
    seen[start] = text
    return text, pos + 1 if after is None else after


def _decode_by_dnspython(wire: bytes, query: bytes) -> Reply | None:
    """The reference: the same Reply from dnspython's reading of the message."""
    import dns.message
    import dns.rdatatype

    response = dns.message.from_wire(wire)
    if not dns.message.from_wire(query).is_response(response):
        return None
    truncated = bool(response.flags & _TC)
    if response.rcode():
        return Reply(response.rcode(), truncated)
    try:
        chaining = response.resolve_chaining()
    except dns.exception.DNSException as err:
        return Reply(0, truncated, problem=str(err))
    if chaining.answer is None:
        targets = tuple(_text(rdata) for rrset in response.answer if rrset.rdtype == dns.rdatatype.CNAME
                        for rdata in rrset)
        return Reply(0, truncated, cnames=targets)
    records = tuple(sorted({_text(rdata) for rdata in chaining.answer}))
    return Reply(0, truncated, records, chaining.answer.ttl, tuple(_text(rd) for rrset in chaining.cnames for rd in rrset))


def _text(rdata) -> str:
    if rdata.rdtype == _TXT:
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return rdata.to_text().rstrip(".").lower()
