"""DNS messages on the wire for the common exchange, without building dnspython objects.

dnspython renders and parses a message object by object, which was most of a batch run's time.
The common case — one question; A, AAAA, NS and CNAME answers with plain host names — is
written and read here directly. Anything else (other record types in the answer section, names
with unusual bytes, a CNAME chain with a fork, anything malformed) makes these functions return
None, and the caller falls back to dnspython, which stays the reference: the tests check that
both read every message the same way.
"""

from __future__ import annotations

import functools
import re
import socket
import struct
from typing import NamedTuple

import dns.ipv6

RDTYPES = {"A": 1, "NS": 2, "CNAME": 5, "TXT": 16, "AAAA": 28}
A, NS, CNAME, TXT, AAAA = 1, 2, 5, 16, 28
IN = 1
QR, TC, RD = 0x8000, 0x0200, 0x0100
MAX_CHAIN = 16  # as dnspython's resolver: a longer CNAME chain is an error

_HEADER = struct.Struct("!HHHHHH")
_QUESTION = struct.Struct("!HH")
_RECORD = struct.Struct("!HHIH")
# Labels whose text form needs no escaping; anything else is left to dnspython.
_PLAIN_LABEL = re.compile(rb"[A-Za-z0-9_-]{1,63}")
# A name of such labels joined by dots (each label's length is the wire's, at most 63): one match
# per name instead of one per label, with a count of the dots for a label that held one.
_PLAIN_LABELS = re.compile(rb"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")


class Unusual(ValueError):
    """The message is not the common case; dnspython should read it."""


def build_query(qid: int, name: str, rdtype: str) -> bytes | None:
    """A recursive query for `name`, byte for byte what dnspython's make_query writes;
    None when the name is not a plain host name."""
    qname = _qname(name)
    if qname is None:
        return None
    return _HEADER.pack(qid, RD, 1, 0, 0, 0) + qname + _QUESTION.pack(RDTYPES[rdtype], IN)


def question_of(query: bytes) -> bytes:
    """The question section of a query build_query wrote (all of it after the header)."""
    return query[12:]


@functools.lru_cache(maxsize=1024)  # a host's A and AAAA (and often its NS) ask about the same name
def _qname(name: str) -> bytes | None:
    try:
        raw = name.encode("ascii").rstrip(b".")
    except UnicodeEncodeError:
        return None
    labels = raw.split(b".")
    if len(raw) > 253 or not all(_PLAIN_LABEL.fullmatch(label) for label in labels):
        return None
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"


class Reply(NamedTuple):  # a tuple: one is made for every response, and tuples are cheap to make
    """A response read from the wire: header, its one question, and the answer section.

    records: (owner, rdtype, ttl, text) with owner names lowercased and without the final dot.
    """

    id: int
    flags: int
    rcode: int
    qname: str
    qtype: int
    qclass: int
    records: tuple[tuple[str, int, int, str], ...]
    wire: bytes = b""

    @property
    def truncated(self) -> bool:
        return bool(self.flags & TC)

    def answers(self, qname: str, qtype: int) -> bool:
        """Is this a response to that question (as dnspython's Message.is_response decides)?"""
        return bool(self.flags & QR) and not (self.flags & 0x7800) and self.qclass == IN \
            and self.qtype == qtype and self.qname == qname.lower().rstrip(".")

    def resolve(self) -> tuple[tuple[str, ...], int | None, tuple[str, ...]] | None:
        """Follow the CNAME chain from the question: (texts, ttl, cname targets) of the answer,
        texts empty (ttl None) when there is no data; None when dnspython should decide."""
        if len(self.records) == 1:  # one A or AAAA for the name asked: most answers
            owner, rdtype, ttl, text = self.records[0]
            if owner == self.qname and rdtype == self.qtype:
                return (text,), ttl, ()
        name, chain, owners = self.qname, [], set()
        while True:
            matching = [(ttl, text) for owner, rdtype, ttl, text in self.records
                        if owner == name and rdtype == self.qtype]
            if matching:
                return tuple(sorted({text for _, text in matching})), min(ttl for ttl, _ in matching), tuple(chain)
            cnames = [text for owner, rdtype, _, text in self.records if owner == name and rdtype == CNAME]
            if not cnames or self.qtype == CNAME:
                return (), None, tuple(chain)
            if len(cnames) > 1 or len(chain) + 1 >= MAX_CHAIN or name in owners:
                return None
            owners.add(name)
            chain.append(cnames[0])
            name = cnames[0]

    def cname_targets(self) -> tuple[str, ...]:
        """The CNAME target of each name in the answer section. As in dnspython, a name holds one
        CNAME: a later record replaces an earlier one."""
        by_owner: dict[str, str] = {}
        for owner, rdtype, _, text in self.records:
            if rdtype == CNAME:
                by_owner[owner] = text
        return tuple(by_owner.values())


def read_reply(data: bytes, question: bytes = b"", qname: str = "") -> Reply | None:
    """The response in `data`, or None when it is not the common case (or not well formed).

    question, qname: the question section of the query sent (see question_of) and its name as
    read back (lowercase, no final dot). A response that repeats it byte for byte, as servers
    do, is read from the answers on; any other is read whole.
    """
    try:
        qid, flags, qdcount, ancount, _, _ = _HEADER.unpack_from(data, 0)
        if qdcount != 1:
            raise Unusual("not one question")
        if question and data[12:12 + len(question)] == question:
            seen: dict[int, str] = {12: qname}
            pos = 12 + len(question) - _QUESTION.size  # at the echoed type and class
        else:
            seen = {}
            qname, pos = _read_name(data, 12, seen)
        qtype, qclass = _QUESTION.unpack_from(data, pos)
        pos += _QUESTION.size
        records = []
        for _ in range(ancount):
            owner, pos = _read_name(data, pos, seen)
            rdtype, rdclass, ttl, length = _RECORD.unpack_from(data, pos)
            pos += 10
            end = pos + length
            if end > len(data) or rdclass != IN:
                raise Unusual("short record or not class IN")
            records.append((owner, rdtype, ttl, _read_rdata(data, pos, end, rdtype, seen)))
            pos = end
    except (Unusual, struct.error, IndexError):
        return None
    return Reply(qid, flags, flags & 0xF, qname, qtype, qclass, tuple(records), data)


def _read_rdata(data: bytes, pos: int, end: int, rdtype: int, seen: dict[int, str]) -> str:
    if rdtype == A and end - pos == 4:
        return socket.inet_ntoa(data[pos:end])
    if rdtype == AAAA and end - pos == 16:
        return ipv6_text(data[pos:end])
    if rdtype in (NS, CNAME):
        target, after = _read_name(data, pos, seen)
        if after == end:
            return target
    if rdtype == TXT:  # its character-strings joined, as the text they carry (Team Cymru's ASN answers)
        return _txt_text(data[pos:end])
    raise Unusual(f"record type {rdtype} or its length")


def _txt_text(rdata: bytes) -> str:
    parts, pos = [], 0
    while pos < len(rdata):
        size = rdata[pos]
        if pos + 1 + size > len(rdata):
            raise Unusual("a TXT string runs past its record")
        parts.append(rdata[pos + 1:pos + 1 + size].decode("utf-8", "replace"))
        pos += 1 + size
    return "".join(parts)


_ZERO_PREFIX = bytes(10)


def ipv6_text(address: bytes) -> str:
    """dns.ipv6.inet_ntoa's text for 16 bytes, from the C library where the two agree: everywhere
    but addresses starting with 80 zero bits (the embedded-IPv4 forms), left to dnspython."""
    if address[:10] == _ZERO_PREFIX:
        return dns.ipv6.inet_ntoa(address)
    return socket.inet_ntop(socket.AF_INET6, address)


def _read_name(data: bytes, pos: int, seen: dict[int, str]) -> tuple[str, int]:
    """A (possibly compressed) name at pos: its lowercase text and the offset after it.

    seen: the names already read from this message by offset, where compression points back to.
    """
    start = pos
    labels: list[bytes] = []
    suffix = ""
    after = None
    limit = pos  # as dnspython: every pointer must go further back than the last
    while True:
        length = data[pos]
        if length >= 0xC0:
            pointer = (length & 0x3F) << 8 | data[pos + 1]
            if after is None:
                after = pos + 2
            if pointer >= limit:
                raise Unusual("compression pointer does not point back")
            if pointer in seen:
                suffix = seen[pointer]
                break
            pos = limit = pointer
            continue
        if length > 63:
            raise Unusual("reserved label type")
        if length == 0:
            break
        labels.append(data[pos + 1:pos + 1 + length])
        pos += 1 + length
    raw = b".".join(labels)
    if labels and (not _PLAIN_LABELS.fullmatch(raw) or raw.count(b".") != len(labels) - 1):
        raise Unusual("a label that needs escaping")
    text = raw.decode("ascii").lower()
    text = f"{text}.{suffix}" if text and suffix else text or suffix
    if not text or len(text) > 253:
        raise Unusual("the root name, or a name longer than 255 bytes")
    seen[start] = text
    return text, pos + 1 if after is None else after
