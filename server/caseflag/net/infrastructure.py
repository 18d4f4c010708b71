"""What DNS says about who serves a host, as the lookup found it and the shared cache keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import msgspec

from .providers import AsnInfo, Evidence

# Every reason caseflag gives, each worded by the catalogue as reason.<code> (tests/test_reasons.py
# checks them against it): its skip reasons, what DNS answered, and the web service's bounds on waiting
# (the asn_* reasons are an ASN lookup's, in infrastructure.asns[].reason).
ReasonCode = Literal[
    "", "offline", "never_resolved", "no_permission",
    "no_resolver", "no_resolver_said", "budget_spent", "timeout", "timeout_strays", "unreachable", "query_failed",
    "unusable", "too_many_records", "nxdomain", "refused", "servfail", "bad_answer", "nodata", "no_addresses",
    "dns_busy", "dns_paused", "dns_deadline"]


@dataclass(frozen=True)
class Infrastructure:
    """What DNS says about who serves a host. status: resolved | nxdomain | unavailable | skipped."""

    status: str
    addresses: tuple[str, ...] = ()
    nameservers: tuple[str, ...] = ()
    cnames: tuple[str, ...] = ()
    providers: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)
    asns: tuple[AsnInfo, ...] = ()
    elapsed_ms: int | None = None
    # Every reason caseflag gives is data: the catalogue words it as reason.<code> with these params, in
    # the answer's language (service/verdict.py). Typed, so that a cached value naming a code this
    # version does not know (another version's, in a rolling upgrade) fails to decode: a cache miss.
    reason_code: ReasonCode = ""
    reason_params: dict[str, str | int | float] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """The shared cache's form of it (msgspec's JSON of the dataclass)."""
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Infrastructure:
        """Read back what to_json wrote; ValueError for anything else (another version's form)."""
        try:
            return _DECODER.decode(raw)
        except msgspec.DecodeError as err:
            raise ValueError(f"not a cached infrastructure: {err}") from None


_DECODER = msgspec.json.Decoder(Infrastructure)
