"""Who serves a site: published IP ranges, origin ASN, nameserver and CNAME patterns.

Each conclusion carries its evidence. The ASN comes from Team Cymru's DNS interface (asn.py),
asked only for public addresses that no bundled range explains, in the same DNS session and
within the same time budget as every other query.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from .asn import lookup_asns
from ..core.messages import render
from ..data.dataset import Dataset
from .network import HostRecords, Resolver

log = logging.getLogger(__name__)

MAX_ASN_LOOKUPS = 4


class Evidence(NamedTuple):  # immutable, and cheap to make: several per checked host
    kind: str  # ip_range | asn | nameserver | cname
    value: str
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "value": self.value, "detail": self.detail}


# Why an address's origin AS is not known (Infrastructure.reason_code holds the lookup's own).
AsnReasonCode = Literal["", "asn_budget_spent", "asn_no_answer", "asn_unreadable"]


@dataclass(frozen=True)
class AsnInfo:
    """Origin AS of one address, as Team Cymru announces it."""

    address: str
    status: str  # ok | error
    asn: int | None = None
    prefix: str | None = None
    country: str | None = None
    registry: str | None = None
    reason_code: AsnReasonCode = ""  # worded by the catalogue as reason.<code>
    reason_params: dict = field(default_factory=dict)

    def to_dict(self, lang: str | None = None) -> dict:
        data = {"address": self.address, "status": self.status}
        if self.status == "ok":
            data.update(asn=self.asn, prefix=self.prefix, country=self.country, registry=self.registry)
        else:
            data["reason"] = render(f"reason.{self.reason_code}", self.reason_params, lang)
        return data


@dataclass
class Findings:
    """Providers (by id) with their evidence, and the ASNs looked up on the way."""

    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    asns: list[AsnInfo] = field(default_factory=list)

    def add(self, provider_id: str, item: Evidence) -> None:
        items = self.evidence.setdefault(provider_id, [])
        if item not in items:
            items.append(item)


_NETWORK_TEXTS: dict[int, tuple[object, str]] = {}  # id → (network, its text); the network kept, so its id stays its own


def _network_text(network) -> str:
    """str(network), made once per network: an IPv6 network's text is slow to make, and few
    networks are ever hit. Found by identity: hashing an ipaddress network is Python code too."""
    known = _NETWORK_TEXTS.get(id(network))
    if known is not None and known[0] is network:
        return known[1]
    if len(_NETWORK_TEXTS) >= 4096:
        _NETWORK_TEXTS.clear()
    text = str(network)
    _NETWORK_TEXTS[id(network)] = (network, text)
    return text


class ProviderDetector:
    """Turns DNS records into providers with evidence, using a dataset's indexes."""

    def __init__(self, resolver: Resolver, asn_lookups: bool = True) -> None:
        self.resolver = resolver
        self.asn_lookups = asn_lookups

    async def detect(self, dataset: Dataset, records: HostRecords, deadline: float, session=None) -> Findings:
        findings = Findings()
        unexplained: list[str] = []
        for address in records.addresses:
            hits = dataset.providers_for_address(address)
            for provider_id, network in hits:
                findings.add(provider_id, Evidence("ip_range", address, _network_text(network)))
            if not hits and ipaddress.ip_address(address).is_global:
                unexplained.append(address)
        if records.ns is not None:
            for name in records.ns.records:
                hit = dataset.provider_for_nameserver(name)
                if hit:
                    findings.add(hit[0], Evidence("nameserver", name, hit[1]))
        for name in records.cnames:
            hit = dataset.provider_for_cname(name)
            if hit:
                findings.add(hit[0], Evidence("cname", name, hit[1]))
        if self.asn_lookups and unexplained:
            findings.asns = await self._asns(unexplained[:MAX_ASN_LOOKUPS], deadline, session)
            for info in findings.asns:
                provider_id = dataset.provider_for_asn(info.asn) if info.asn is not None else None
                if provider_id:
                    findings.add(provider_id, Evidence(
                        "asn", f"AS{info.asn}", f"{info.address} is announced by AS{info.asn} ({info.prefix})"))
        return findings

    async def _asns(self, addresses: list[str], deadline: float, session) -> list[AsnInfo]:
        if deadline - time.monotonic() <= 0:
            return [AsnInfo(a, "error", reason_code="asn_budget_spent") for a in addresses]
        if session is None:
            async with self.resolver.session() as own:
                return await lookup_asns(self.resolver, own, addresses, deadline, AsnInfo)
        return await lookup_asns(self.resolver, session, addresses, deadline, AsnInfo)
