"""What DNS says about who serves a host, as the lookup found it and the shared cache keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from .providers import AsnInfo, Evidence


@dataclass(frozen=True)
class Infrastructure:
    """What DNS says about who serves a host. status: resolved | nxdomain | unavailable | skipped."""

    status: str
    reason: str = ""
    addresses: tuple[str, ...] = ()
    nameservers: tuple[str, ...] = ()
    cnames: tuple[str, ...] = ()
    providers: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)
    asns: tuple[AsnInfo, ...] = ()
    elapsed_ms: int | None = None
    # Every reason caseflag gives is data: the catalogue words it as reason.<code> with these params, in
    # the answer's language (service/verdict.py); `reason` holds words only for a reason with no code.
    reason_code: str = ""
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
