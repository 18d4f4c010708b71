"""A real DNS server for the tests: UDP and TCP on loopback, zones from a table, every query logged.

Names may answer normally, with NXDOMAIN or SERVFAIL, never (the query is dropped), only
over TCP (UDP answers are truncated), or after a delay.
"""

from __future__ import annotations

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
}
for _n in range(1, 41):
    ZONES[f"{_n}.216.184.93.origin.asn.cymru.com"] = {"TXT": ["15133 | 93.184.216.0/24 | US | arin | 2008-06-02"]}

SERVFAIL_NAMES = {"servfail.com", "www.servfail.com"}
SILENT_NAMES = {"slow.com", "www.slow.com"}
TCP_ONLY_NAMES = {"tcp-only.org"}
TTL = 300


@dataclass
class DnsTestServer:
    host: str = "127.0.0.1"
    zones: dict = field(default_factory=lambda: ZONES)
    delay: float = 0.0
    queries: list[tuple[str, str, str]] = field(default_factory=list)

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
        if self.delay:
            time.sleep(self.delay)
        key = qname.lower()
        if key in SILENT_NAMES:
            return None
        reply = request.reply()
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
    """A loopback port with nothing listening on it (for 'DNS unreachable')."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


if __name__ == "__main__":  # a server to try things by hand: python tests/dnsserver.py
    server = DnsTestServer().start()
    print(f"test DNS server on {server.nameserver}; Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
