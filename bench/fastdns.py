"""A fast authoritative DNS responder for the load run and P3: UDP, one thread, prebuilt answers.

tests/dnsserver.py is the right server for behaviour (SERVFAIL, silence, TCP, delays) but it
scans its zone table and starts a thread for every query; with tens of thousands of generated
names that server, not the client, would set the pace. This one answers A, AAAA and NS for a
fixed table from bytes built once, so a C resolver and `caseflag batch` can both go flat out.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
import threading
from dataclasses import dataclass, field

TTL = 300
QTYPES = {"A": 1, "NS": 2, "TXT": 16, "AAAA": 28}
NXDOMAIN = 3
FORMERR = 1
# Cloudflare's published ranges (data/providers/cloudflare.toml): one round trip, no ASN question.
NAMESERVERS = ("ada.ns.cloudflare.com", "kip.ns.cloudflare.com")


def bench_names(count: int, prefix: str) -> list[str]:
    """`count` distinct registrable names, spread over a few public suffixes."""
    suffixes = ("com", "org", "net", "de", "co.uk")
    return [f"{prefix}{number:06d}.{suffixes[number % len(suffixes)]}" for number in range(count)]


def cloudflare_zone(names: list[str]) -> dict[str, dict[str, list[str]]]:
    """Each name: an A in 104.16.0.0/13, an AAAA in 2606:4700::/32, and Cloudflare nameservers."""
    zones = {}
    for number, name in enumerate(names):
        zones[name] = {
            "A": [str(ipaddress.IPv4Address("104.16.0.0") + number % 2**19)],
            "AAAA": [str(ipaddress.IPv6Address("2606:4700::") + number)],
            "NS": list(NAMESERVERS),
        }
    return zones


def mixed_zone(names: list[str]) -> dict[str, dict[str, list[str]]]:
    """A realistic mix, as issue 22's researcher met it, in tenths: 4 behind Cloudflare, 1.5 with
    only their DNS at Cloudflare (the site on an AWS address), 2 on AWS, 1 on a Fastly address,
    1.5 that do not exist (NXDOMAIN). Addresses in no published range get Team Cymru's answer."""
    zones: dict[str, dict[str, list[str]]] = {}
    for number, name in enumerate(names):
        kind = number % 20
        if kind < 8:  # Cloudflare-proxied
            zones.update(cloudflare_zone([name]))
            zones[name]["A"] = [str(ipaddress.IPv4Address("104.16.0.0") + number % 2**19)]
            continue
        if kind >= 17:  # NXDOMAIN: not in the zone
            continue
        if kind < 11:
            address, asn, ns = ipaddress.IPv4Address("52.0.0.0") + number, "16509 | 52.0.0.0/11 | US | arin | 2011-01-01", NAMESERVERS
        elif kind < 15:
            address, asn, ns = ipaddress.IPv4Address("54.64.0.0") + number, "16509 | 54.64.0.0/11 | US | arin | 2011-01-01", ("ns-1.awsdns-01.com", "ns-2.awsdns-02.net")
        else:
            address, asn, ns = ipaddress.IPv4Address("151.101.0.0") + number % 65536, "54113 | 151.101.0.0/16 | US | arin | 2016-02-01", ("ns1.fastly-dns.net",)
        zones[name] = {"A": [str(address)], "NS": list(ns)}
        reverse = ".".join(reversed(str(address).split(".")))
        zones[f"{reverse}.origin.asn.cymru.com"] = {"TXT": [asn]}
    return zones


def test_zones() -> dict[str, dict[str, list[str]]]:
    """The A, AAAA and NS records of tests/dnsserver.py's zones (thepiratebay.org and friends)."""
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from dnsserver import ZONES

    return {name: {qtype: values for qtype, values in records.items() if qtype in QTYPES}
            for name, records in ZONES.items() if "CNAME" not in records}


def _wire_name(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode("ascii") for label in name.rstrip(".").split(".")) + b"\0"


def _rdata(qtype: str, value: str) -> bytes:
    if qtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if qtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if qtype == "TXT":
        return bytes([len(value)]) + value.encode("ascii")
    return _wire_name(value)


@dataclass
class FastDnsServer:
    """Answers from `zones` (name -> {"A"|"AAAA"|"NS": [values]}); unknown names get NXDOMAIN."""

    zones: dict[str, dict[str, list[str]]]
    host: str = "127.0.0.1"
    port: int = 0
    queries: int = 0
    _answers: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name, records in self.zones.items():
            for qtype, values in records.items():
                section = b"".join(
                    struct.pack("!HHHIH", 0xC00C, QTYPES[qtype], 1, TTL, len(rdata)) + rdata
                    for rdata in (_rdata(qtype, value) for value in values)
                )
                self._answers[(name.lower(), QTYPES[qtype])] = (len(values), section)
        self._known = {name.lower() for name in self.zones}
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def nameserver(self) -> str:
        return f"{self.host}:{self.port}"

    def reply(self, query: bytes) -> bytes | None:
        if len(query) < 17:
            return None
        ident, flags = struct.unpack_from("!HH", query)
        labels, offset = [], 12
        while offset < len(query) and query[offset]:
            length = query[offset]
            labels.append(query[offset + 1: offset + 1 + length])
            offset += 1 + length
        end = offset + 5
        if offset >= len(query) or end > len(query) or flags & 0x8000:
            return None
        qtype = struct.unpack_from("!H", query, offset + 1)[0]
        name = b".".join(labels).decode("ascii", "replace").lower()
        count, section = self._answers.get((name, qtype), (0, b""))
        rcode = 0 if name in self._known else NXDOMAIN
        # QR, the query's opcode and RD, AA, RA; one question, the answers, no EDNS.
        header = struct.pack("!HHHHHH", ident, 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode, 1, count, 0, 0)
        return header + query[12:end] + section

    def start(self) -> FastDnsServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Python names no SO_RCVBUFFORCE; it is 33 on Linux (and beats net.core.rmem_max, as root).
        force = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None)
        for option in (force, socket.SO_RCVBUF):
            if option is None:
                continue
            try:  # room for a burst of tens of thousands of queries (FORCE needs root)
                sock.setsockopt(socket.SOL_SOCKET, option, 64 * 1024 * 1024)
                break
            except OSError:
                continue
        sock.bind((self.host, self.port))
        sock.settimeout(0.2)
        self.port = sock.getsockname()[1]
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        sock = self._socket
        while self._socket is not None:
            try:
                query, client = sock.recvfrom(4096)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.queries += 1
            answer = self.reply(query)
            if answer is not None:
                try:
                    sock.sendto(answer, client)
                except OSError:
                    pass

    def stop(self) -> None:
        sock, self._socket = self._socket, None
        if self._thread is not None:
            self._thread.join(timeout=2)
        if sock is not None:
            sock.close()


def main(argv: list[str] | None = None) -> int:
    """Serve generated names until stdin closes (or a signal): python bench/fastdns.py --names 10000."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--prefix", action="append", help="name prefix; repeat for several pools (default bench-)")
    parser.add_argument("--test-zones", action="store_true", help="also answer tests/dnsserver.py's names")
    parser.add_argument("--mixed-prefix", help="a pool of names under this prefix with mixed_zone's answers")
    args = parser.parse_args(argv)
    zones = test_zones() if args.test_zones else {}
    for prefix in args.prefix or ["bench-"]:
        zones.update(cloudflare_zone(bench_names(args.names, prefix)))
    if args.mixed_prefix:
        zones.update(mixed_zone(bench_names(args.names, args.mixed_prefix)))
    server = FastDnsServer(zones, args.host, args.port).start()
    print(f"ready {server.nameserver}", flush=True)
    try:
        sys.stdin.read()  # the parent closes our stdin (or dies) to stop us
    except KeyboardInterrupt:
        pass
    server.stop()
    print(f"queries {server.queries}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
