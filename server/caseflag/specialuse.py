"""Names that are never public Internet sites: IANA's special-use domain names and the locally
served zones. The server, the CLI, the batch and the extension's built-in index share this list.

Sources: IANA "Special-Use Domain Names" (RFC 6761 and later: 6762, 7686, 8375, 8880, 9462,
9476, 9665) and "Locally-Served DNS Zones" (RFC 6303, 7793, 8375), plus ``internal``, which ICANN
reserved for private use in 2024.
"""

from __future__ import annotations

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
    labels = name.split(".")
    last_two = ".".join(labels[-2:])
    return last_two if len(labels) >= 2 and last_two in _DOMAINS else None

# What each suffix is, for the words that refuse it (messages: special_use.<kind>).
SPECIAL_USE_KINDS = {
    "example": "reserved", "example.com": "reserved", "example.net": "reserved", "example.org": "reserved",
    "test": "reserved", "invalid": "reserved",
    "local": "local", "localhost": "local", "internal": "local",
    "alt": "alt", "arpa": "arpa", "onion": "onion",
}
