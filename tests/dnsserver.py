"""A real DNS server for the tests: UDP and TCP on loopback, zones from a table, every query logged.

Names may answer normally, with NXDOMAIN or SERVFAIL, never (the query is dropped), only
over TCP (UDP answers are truncated), or after a delay; the names in HOSTILE answer with garbage
(see hostile_reply): the wire bytes are written by hand, since no DNS library writes them wrong.
"""

from __future__ import annotations

import os
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field

from dnslib import QTYPE, RCODE, RR, DNSRecord

# name -> {qtype: [rdata text]}; CNAME entries make the server follow the chain in one answer.
ZONES: dict[str, dict[str, list[str]]] = {
    "thepiratebay.org": {"A": ["104.21.16.1"], "AAAA": ["2606:4700:3030::6815:1001"],
                         "NS": ["bob.ns.cloudflare.com", "lola.ns.cloudflare.com"]},
    "www.thepiratebay.org": {"A": ["104.21.16.1"], "AAAA": ["2606:4700:3030::6815:1001"]},
    "cf-shop.com": {"A": ["104.16.5.5"], "NS": ["ada.ns.cloudflare.com", "kip.ns.cloudflare.com"]},
    "www.cf-shop.com": {"CNAME": ["www.cf-shop.com.cdn.cloudflare.net"]},
    "www.cf-shop.com.cdn.cloudflare.net": {"A": ["104.18.2.2"], "AAAA": ["2606:4700::6812:202"]},
    "plain-site.org": {"A": ["93.184.216.34"], "NS": ["ns1.plain-host.net", "ns2.plain-host.net"]},
    "www.plain-site.org": {"A": ["93.184.216.34"]},
    "asn-only.com": {"A": ["1.1.1.1"], "NS": ["ns1.asn-only.com"]},
    "no-address.org": {"NS": ["ns1.plain-host.net"]},
    "private-address.com": {"A": ["10.0.0.5"], "AAAA": ["fd00::5"], "NS": ["ns1.plain-host.net"]},
    "tcp-only.org": {"A": [f"93.184.216.{n}" for n in range(1, 41)], "NS": ["ns1.plain-host.net"]},
    # Team Cymru's DNS interface: origin by reversed address, then the AS itself.
    "34.216.184.93.origin.asn.cymru.com": {"TXT": ["15133 | 93.184.216.0/24 | US | arin | 2008-06-02"]},
    "1.1.1.1.origin.asn.cymru.com": {"TXT": ["13335 | 1.1.1.0/24 | AU | apnic | 2011-08-11"]},
    "AS15133.asn.cymru.com": {"TXT": ["15133 | US | arin | 2007-03-19 | EDGECAST, US"]},
    "AS13335.asn.cymru.com": {"TXT": ["13335 | US | arin | 2010-07-14 | CLOUDFLARENET, US"]},
    # A well-formed DNS answer whose TXT is not Team Cymru's format (it made ipwhois raise, a 500).
    "garbled-asn.com": {"A": ["93.184.216.99"], "NS": ["ns1.plain-host.net"]},
    # DNS answered by Cloudflare, the site itself at an AWS address: Cloudflare does not serve it.
    "cf-dns-only.org": {"A": ["52.95.110.1"], "NS": ["ada.ns.cloudflare.com", "kip.ns.cloudflare.com"]},
    "1.110.95.52.origin.asn.cymru.com": {"TXT": ["16509 | 52.94.0.0/15 | US | arin | 2015-03-13"]},
    "99.216.184.93.origin.asn.cymru.com": {"TXT": ["garbage"]},
}
for _n in range(1, 41):
    ZONES[f"{_n}.216.184.93.origin.asn.cymru.com"] = {"TXT": ["15133 | 93.184.216.0/24 | US | arin | 2008-06-02"]}

SERVFAIL_NAMES = {"servfail.com", "www.servfail.com"}
SILENT_NAMES = {"slow.com", "www.slow.com"}
TCP_ONLY_NAMES = {"tcp-only.org"}
TTL = 300

# Hostile answers, each under its own name (the registrable domain hostile-dns.net itself is NXDOMAIN).
HOSTILE_DOMAIN = "hostile-dns.net"
HOSTILE = {f"{mode.replace('_', '-')}.{HOSTILE_DOMAIN}": mode for mode in (
    "truncated",        # the answer cut off in the middle of its question
    "pointer_loop",     # the answer's owner name is a compression pointer loop
    "pointer_forward",  # the answer's owner name points forward, into its own data
    "other_question",   # a well-formed answer under the query's id, for another name
    "other_id",         # a well-formed answer to the question, under another id
    "garbage",          # the query's id, then random bytes
    "huge",             # TC over UDP; over TCP 64 KiB of records (about 4,000 addresses)
    "cname_chain",      # a CNAME chain of 100 links in one answer
    "late",             # a good answer, LATE_SECONDS after the question: after any test's budget
    "tcp_garbage",      # TC over UDP; over TCP a length, then junk
    "tcp_stall",        # TC over UDP; over TCP the length of 64 KiB and 100 bytes of it, then nothing
)}
# Words the reason for each hostile mode must contain: what a check should say went wrong.
HOSTILE_REASONS = {
    "truncated": "malformed", "pointer_loop": "compression pointer", "pointer_forward": "compression pointer",
    "other_question": "another question", "other_id": "ids no query had", "garbage": "malformed",
    "huge": "more than the 100 a site could use", "cname_chain": "CNAME chain is too long", "late": "within the time budget",
    "tcp_garbage": "over TCP was unusable", "tcp_stall": "within the time budget",
}
LATE_SECONDS = 3.0
CHAIN_LINKS = 100
_QTYPE_CODES = {"A": (1, 4), "AAAA": (28, 16)}


class Unframed(bytes):
    """Sent over TCP as it is, without the two-byte length that frames a DNS message there."""


class Stall(Unframed):
    """Sent unframed over TCP, then the connection is held open, silent, for LATE_SECONDS."""


def hostile_reply(mode: str, request: bytes, qname: str, qtype: str, transport: str) -> bytes | None:
    """The garbage a hostile server sends for `mode` (None: nothing at all)."""
    qid = request[:2]
    question = request[12:]  # the one question, as the query wrote it (no EDNS record: dnspython sends none)
    header = qid + b"\x81\x80\x00\x01"  # a response, recursion available, one question
    if transport == "udp" and mode in ("huge", "tcp_garbage", "tcp_stall"):
        return qid + b"\x83\x80\x00\x01\x00\x00\x00\x00\x00\x00" + question  # TC: ask again over TCP
    if mode == "tcp_garbage":
        return Unframed(b"\x00\x2a" + os.urandom(40))  # a length of 42, then not even the query's id
    if mode == "tcp_stall":
        return Stall(b"\xff\xff" + os.urandom(100))
    if mode == "truncated":
        return (header + b"\x00\x01\x00\x00\x00\x00" + question)[:12 + len(question) // 2]
    if mode == "pointer_loop":
        # The answer's owner starts at offset p: label "a", then a pointer back to p, for ever.
        p = 12 + len(question)
        owner = b"\x01a" + bytes([0xC0 | (p >> 8), p & 0xFF])
        return header + b"\x00\x01\x00\x00\x00\x00" + question + owner + _a_record_tail()
    if mode == "pointer_forward":
        p = 12 + len(question) + 2 + 10  # the rdata that follows the owner
        owner = bytes([0xC0 | (p >> 8), p & 0xFF])
        return header + b"\x00\x01\x00\x00\x00\x00" + question + owner + _a_record_tail()
    if mode == "other_id":
        other = bytes([request[0] ^ 0x5A, request[1] ^ 0xA5])
        return other + _records_reply(request, qtype, 1)[2:]
    if mode == "garbage":
        return qid + os.urandom(60)
    if mode == "huge":
        return _records_reply(request, qtype, None)
    if mode in ("late", "other_question", "cname_chain"):
        return None  # built with dnslib by the caller
    raise ValueError(mode)


def _a_record_tail() -> bytes:
    return struct.pack("!HHIH", 1, 1, TTL, 4) + bytes([93, 184, 216, 34])


def _records_reply(request: bytes, qtype: str, count: int | None) -> bytes:
    """A NOERROR answer with `count` address records of the asked type (None: as many as fit in 64 KiB)."""
    code, size = _QTYPE_CODES.get(qtype, (1, 4))
    record_length = 2 + 10 + size
    room = 65535 - len(request) - 40
    count = room // record_length if count is None else count
    question = request[12:]
    records = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", code, 1, TTL, size) +
                       (n.to_bytes(4, "big") if size == 4 else b"\x26\x06\x47\x00" + n.to_bytes(12, "big"))
                       for n in range(0x5DB8D800, 0x5DB8D800 + count))
    return request[:2] + b"\x81\x80\x00\x01" + count.to_bytes(2, "big") + b"\x00\x00\x00\x00" + question + records


@dataclass
class DnsTestServer:
    host: str = "127.0.0.1"
    zones: dict = field(default_factory=lambda: ZONES)
    delay: float = 0.0
    queries: list[tuple[str, str, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # when each query came (time.monotonic)
    # After this many queries every further one is answered REFUSED, as a resolver that rate-limits
    # a client does (None: never); clear() starts the count again.
    refuse_after: int | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: list[socketserver.BaseServer] = []
        self.port = 0

    @property
    def nameserver(self) -> str:
        return f"{self.host}:{self.port}"

    def names_asked(self) -> set[str]:
        with self._lock:
            return {name for name, _, _ in self.queries}

    def clear(self) -> None:
        with self._lock:
            self.queries.clear()
            self.times.clear()

    # --- answering -------------------------------------------------------------------

    def answer(self, data: bytes, transport: str) -> bytes | None:
        try:
            request = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage in, no answer out, like a real server
            return None
        qname = str(request.q.qname).rstrip(".")
        qtype = QTYPE[request.q.qtype]
        with self._lock:
            self.queries.append((qname.lower(), qtype, transport))
            self.times.append(time.monotonic())
            refused = self.refuse_after is not None and len(self.queries) > self.refuse_after
        if refused:
            reply = request.reply()
            reply.header.rcode = RCODE.REFUSED
            return reply.pack()
        if self.delay:
            time.sleep(self.delay)
        key = qname.lower()
        if key in SILENT_NAMES:
            return None
        reply = request.reply()
        mode = HOSTILE.get(key)
        if mode is not None:
            raw = hostile_reply(mode, data, key, qtype, transport)
            if raw is not None:
                return raw
            if mode == "late":
                time.sleep(LATE_SECONDS)
                reply.add_answer(*RR.fromZone(f"{qname}. {TTL} IN A 93.184.216.34"))
            elif mode == "other_question":
                reply = DNSRecord.question(f"elsewhere.{HOSTILE_DOMAIN}", qtype).reply()
                reply.header.id = request.header.id
                reply.add_answer(*RR.fromZone(f"elsewhere.{HOSTILE_DOMAIN}. {TTL} IN A 93.184.216.34"))
            elif mode == "cname_chain":
                names = [qname] + [f"link{n}.{HOSTILE_DOMAIN}" for n in range(1, CHAIN_LINKS + 1)]
                for owner, target in zip(names, names[1:]):
                    reply.add_answer(*RR.fromZone(f"{owner}. {TTL} IN CNAME {target}."))
                reply.add_answer(*RR.fromZone(f"{names[-1]}. {TTL} IN A 93.184.216.34"))
            return reply.pack()
        if key in SERVFAIL_NAMES:
            reply.header.rcode = RCODE.SERVFAIL
            return reply.pack()
        if key in TCP_ONLY_NAMES and transport == "udp":
            reply.header.tc = 1
            return reply.pack()
        zone_key = next((name for name in self.zones if name.lower() == key), None)
        if zone_key is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply.pack()
        name = zone_key
        for _ in range(8):  # follow CNAMEs within our own zones, as a recursive resolver would
            records = self.zones.get(name, {})
            if "CNAME" in records and qtype != "CNAME":
                target = records["CNAME"][0]
                reply.add_answer(*RR.fromZone(f"{name}. {TTL} IN CNAME {target}."))
                name = target
                continue
            for value in records.get(qtype, []):
                text = f'"{value}"' if qtype == "TXT" else (f"{value}." if qtype in ("NS", "CNAME") else value)
                reply.add_answer(*RR.fromZone(f"{name}. {TTL} IN {qtype} {text}"))
            break
        return reply.pack()

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> DnsTestServer:
        owner = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = owner.answer(data, "udp")
                if reply is not None:
                    try:
                        sock.sendto(reply, self.client_address)
                    except OSError:  # the server was stopped while this answer was delayed
                        pass

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                header = self.request.recv(2)
                if len(header) < 2:
                    return
                (length,) = struct.unpack("!H", header)
                data = b""
                while len(data) < length:
                    chunk = self.request.recv(length - len(data))
                    if not chunk:
                        return
                    data += chunk
                reply = owner.answer(data, "tcp")
                if reply is not None:
                    try:
                        if isinstance(reply, Unframed):
                            self.request.sendall(reply)
                            if isinstance(reply, Stall):
                                time.sleep(LATE_SECONDS)
                        else:
                            self.request.sendall(struct.pack("!H", len(reply)) + reply)
                    except OSError:  # the client gave up (its budget ran out) before the answer
                        pass

        class UdpServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
            daemon_threads = True

        class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        for _ in range(20):
            udp = UdpServer((self.host, self.port), Udp)
            port = udp.server_address[1]
            try:
                tcp = TcpServer((self.host, port), Tcp)
            except OSError:
                udp.server_close()
                continue
            self.port = port
            self._servers = [udp, tcp]
            break
        else:
            raise RuntimeError("could not bind a UDP and TCP port pair for the test DNS server")
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []


def closed_port(host: str = "127.0.0.1") -> int:
    """A loopback port with nothing bound to it on UDP or TCP, for 'DNS unreachable' and 'no
    server there' alike (a port free on UDP may be some server's TCP port)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port


if __name__ == "__main__":  # a server to try things by hand: python tests/dnsserver.py
    server = DnsTestServer().start()
    print(f"test DNS server on {server.nameserver}; Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
