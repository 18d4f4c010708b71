"""What DNS says about who serves a host, as the lookup found it and the shared cache keeps it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

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
    # Set when the reason is one of caseflag's own (offline, never_resolved): the catalogue words it as
    # messages' reason.<code>; the reasons DNS gives stay as they came.
    reason_code: str = ""

    def to_json(self) -> str:
        """A compact form for the shared cache."""
        return json.dumps({
            "status": self.status, "reason": self.reason, "addresses": self.addresses,
            "nameservers": self.nameservers, "cnames": self.cnames,
            "providers": {pid: [e.to_dict() for e in items] for pid, items in self.providers.items()},
            "asns": [vars(info) for info in self.asns], "elapsed_ms": self.elapsed_ms,
            "reason_code": self.reason_code,
        })

    @classmethod
    def from_json(cls, raw: str | bytes) -> Infrastructure:
        data = json.loads(raw)
        return cls(
            status=data["status"], reason=data["reason"], addresses=tuple(data["addresses"]),
            nameservers=tuple(data["nameservers"]), cnames=tuple(data["cnames"]),
            providers={pid: tuple(Evidence(**e) for e in items) for pid, items in data["providers"].items()},
            asns=tuple(AsnInfo(**info) for info in data["asns"]), elapsed_ms=data["elapsed_ms"],
            reason_code=data.get("reason_code", ""),
        )
