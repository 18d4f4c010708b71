"""Names that are never public Internet sites: IANA's special-use domain names and the locally
served zones. The server, the CLI, the batch and the extension's built-in index share this list.

Sources: IANA "Special-Use Domain Names" (RFC 6761 and later: 6762, 7686, 8375, 8880, 9462,
9476, 9665) and "Locally-Served DNS Zones" (RFC 6303, 7793, 8375), plus ``internal``, which ICANN
reserved for private use in 2024.
"""

from __future__ import annotations

import ipaddress

# Whole top-level names: nothing under them is a public site. ``arpa`` holds only infrastructure
# (reverse mapping, home.arpa, resolver.arpa, service.arpa, ipv4only.arpa, as112.arpa, …).
SPECIAL_USE_TLDS = ("alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion", "test")

# Second-level names reserved under an ordinary top-level name.
SPECIAL_USE_DOMAINS = ("example.com", "example.net", "example.org")

# Names reached without DNS, which may still be listed (an entity's onion address) but are never resolved.
NEVER_RESOLVED_TLDS = ("onion",)

SPECIAL_USE_SUFFIXES = tuple(sorted(SPECIAL_USE_TLDS + SPECIAL_USE_DOMAINS))

_TLDS = frozenset(SPECIAL_USE_TLDS)
_DOMAINS = frozenset(SPECIAL_USE_DOMAINS)


def special_use_suffix(name: str) -> str | None:
    """The special-use suffix a normalised (lowercase ASCII, no trailing dot) name falls under, or None."""
    tld = name.rpartition(".")[2]
    if tld in _TLDS:
        return tld
    last_two = ".".join(name.split(".")[-2:])  # a single label is no reserved second-level name
    return last_two if last_two in _DOMAINS else None

# What each suffix is, for the words that refuse it (messages: special_use.<kind>).
SPECIAL_USE_KINDS = {
    "example": "reserved", "example.com": "reserved", "example.net": "reserved", "example.org": "reserved",
    "test": "reserved", "invalid": "reserved",
    "local": "local", "localhost": "local", "internal": "local",
    "alt": "alt", "arpa": "arpa", "onion": "onion",
}


# Addresses that are never public sites: the networks of IANA's IPv4 and IPv6 Special-Purpose
# Address Registries that Python's ``ipaddress`` calls not global, which is what the server refuses
# (``not ip_address(x).is_global``). Python offers no public list of them, so the table is ours;
# tests/test_specialuse.py holds it to ``is_global`` at each network's edges, and fails on a
# Python whose list differs (its list changed in later releases), so the two are brought together.
NOT_GLOBAL_IPV4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/29", "192.0.0.170/31", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
)
# Python decides an IPv4-mapped address (::ffff:a.b.c.d) by its IPv4 part being private: every
# network above but the shared address space 100.64.0.0/10, which is neither private nor global.
NOT_GLOBAL_IPV6_NATIVE = (
    "::/128", "::1/128", "100::/64", "2001::/23", "2001:2::/48", "2001:10::/28", "2001:db8::/32",
    "fc00::/7", "fe80::/10",
)
_NEITHER_PRIVATE_NOR_GLOBAL_IPV4 = ("100.64.0.0/10",)


def not_global_networks() -> dict[str, list[str]]:
    """The not-global networks as text, each family sorted by address: IPv6 with the mapped forms."""
    v4 = [ipaddress.ip_network(text) for text in NOT_GLOBAL_IPV4]
    mapped = [ipaddress.ip_network(f"::ffff:{net.network_address}/{96 + net.prefixlen}")
              for net in v4 if str(net) not in _NEITHER_PRIVATE_NOR_GLOBAL_IPV4]
    v6 = [ipaddress.ip_network(text) for text in NOT_GLOBAL_IPV6_NATIVE] + mapped
    return {"ipv4": [str(net) for net in sorted(v4)], "ipv6": [str(net) for net in sorted(v6)]}
