"""specialuse's table of not-global networks says what Python's public ``is_global`` says."""

from __future__ import annotations

import ipaddress

import pytest

from caseflag.core.specialuse import NOT_GLOBAL_IPV4, NOT_GLOBAL_IPV6_NATIVE, not_global_networks

_TABLE = not_global_networks()
_NETWORKS = [ipaddress.ip_network(text) for text in _TABLE["ipv4"] + _TABLE["ipv6"]]


def _inside(address) -> bool:
    return any(address in network for network in _NETWORKS)


@pytest.mark.parametrize("network", _NETWORKS, ids=str)
def test_each_network_is_not_global_at_its_edges_and_its_neighbours_agree(network):
    """First and last address: not global. One before and one after: global exactly when no
    other network of the table holds it (networks may touch)."""
    assert not ipaddress.ip_address(network.network_address).is_global
    assert not ipaddress.ip_address(network.broadcast_address).is_global
    for neighbour in (int(network.network_address) - 1, int(network.broadcast_address) + 1):
        if not 0 <= neighbour < 2 ** network.max_prefixlen:
            continue
        address = ipaddress.ip_address(neighbour) if network.version == 4 else ipaddress.IPv6Address(neighbour)
        assert address.is_global == (not _inside(address)), address


@pytest.mark.parametrize("text", ["8.8.8.8", "1.1.1.1", "100.128.0.0", "2606:4700::1111", "::ffff:8.8.8.8",
                                  "::ffff:100.64.0.1", "2001:200::", "::2", "fe7f:ffff::1"])
def test_public_addresses_are_outside_the_table(text):
    address = ipaddress.ip_address(text)
    assert address.is_global and not _inside(address)


def test_the_table_is_sorted_text_and_holds_every_mapped_private_network():
    assert len(_TABLE["ipv4"]) == len(NOT_GLOBAL_IPV4)
    assert len(_TABLE["ipv6"]) == len(NOT_GLOBAL_IPV6_NATIVE) + len(NOT_GLOBAL_IPV4) - 1  # all but 100.64/10
    for family in ("ipv4", "ipv6"):
        assert [ipaddress.ip_network(text) for text in _TABLE[family]] == sorted(
            ipaddress.ip_network(text) for text in _TABLE[family])


def _ranges(family: str) -> list[tuple[int, int]]:
    return [(int(net.network_address), int(net.broadcast_address))
            for net in map(ipaddress.ip_network, _TABLE[family])]


def test_no_network_is_missing_at_a_coarse_sweep():
    """Both edges of every IPv4 /16, and the first address of every IPv6 /16 and of every /32 in
    2000::/16 and of every /48 in 2001::/32 (where the IETF blocks are): a not-global network
    left out of the table, or one too wide, shows at one of them."""
    v4, v6 = _ranges("ipv4"), _ranges("ipv6")
    samples = [ipaddress.IPv4Address(high << 16 | low) for high in range(1 << 16) for low in (0, 0xFFFF)]
    samples += [ipaddress.IPv6Address(value) for value in (
        *(high << 112 for high in range(1 << 16)),
        *((0x2000 << 112) | (mid << 96) for mid in range(1 << 16)),
        *((0x2001 << 112) | (mid << 80) for mid in range(1 << 16)),
    )]
    wrong = [str(address) for address in samples
             if address.is_global == any(low <= int(address) <= high
                                         for low, high in (v4 if address.version == 4 else v6))]
    assert wrong == []
