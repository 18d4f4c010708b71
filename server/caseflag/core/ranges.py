"""IP ranges to owners in sorted, non-overlapping intervals, looked up with bisect."""

from __future__ import annotations

import ipaddress
import socket
from bisect import bisect_right
from typing import Generic, Iterable, TypeVar

T = TypeVar("T")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RangeIndex(Generic[T]):
    """Maps addresses to the (owner, network) pairs whose network contains them.

    Overlapping networks are split into elementary intervals when the index is built,
    so a lookup is one bisect per address family: O(log n), however many ranges there are.
    """

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        by_family: dict[int, list[tuple[int, int, Network, T]]] = {4: [], 6: []}
        for cidr, owner in entries:
            network = ipaddress.ip_network(cidr, strict=False)
            by_family[network.version].append((int(network.network_address), int(network.broadcast_address),
                                               network, owner))
        self._starts: dict[int, list[int]] = {}
        self._segments: dict[int, list[tuple[int, tuple]]] = {}
        for family, items in by_family.items():
            self._build(family, items)

    def _build(self, family: int, items: list) -> None:
        bounds = sorted({first for first, *_ in items} | {last + 1 for _, last, *_ in items})
        starts = self._starts[family] = []
        segments = self._segments[family] = []
        ordered = sorted(items, key=lambda item: (item[0], item[1]))
        active: list = []
        cursor = 0
        for start, after in zip(bounds, bounds[1:]):
            while cursor < len(ordered) and ordered[cursor][0] <= start:
                active.append(ordered[cursor])
                cursor += 1
            active = [item for item in active if item[1] >= start]
            if active:
                covering = tuple((owner, network) for _, _, network, owner in
                                 sorted(active, key=lambda item: -item[2].prefixlen))
                starts.append(start)
                segments.append((after - 1, covering))

    def __len__(self) -> int:
        return sum(len(s) for s in self._starts.values())

    def lookup(self, address: str | Address) -> tuple[tuple[T, Network], ...]:
        """Every (owner, network) containing the address, most specific first; () if none."""
        version, value = _address_value(address)
        starts = self._starts.get(version, [])
        position = bisect_right(starts, value) - 1
        if position < 0:
            return ()
        end, covering = self._segments[version][position]
        return covering if value <= end else ()


def _address_value(address: str | Address) -> tuple[int, int]:
    """(IP version, the address as an integer). Raises ValueError for text that is no address."""
    if not isinstance(address, str):
        return address.version, int(address)
    # inet_pton is strict (no "1.2" or "010.0.0.1" shorthands) and a tenth of ip_address's cost
    family, version = (socket.AF_INET6, 6) if ":" in address else (socket.AF_INET, 4)
    try:
        return version, int.from_bytes(socket.inet_pton(family, address), "big")
    except OSError:
        return version, int(ipaddress.ip_address(address))  # raises ValueError with its own words
