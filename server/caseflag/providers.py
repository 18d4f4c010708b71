"""Who serves a site: published IP ranges, origin ASN, nameserver and CNAME patterns.

Each conclusion carries its evidence. The ASN comes from Team Cymru's DNS interface through
ipwhois, asked only for public addresses that no bundled range explains, through the same
configured resolver and within the same time budget as every other query.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from .dataset import Dataset
from .network import HostRecords, Resolver

log = logging.getLogger(__name__)

MAX_ASN_LOOKUPS = 4


class Evidence(NamedTuple):  # immutable, and cheap to make: several per checked host
    kind: str  # ip_range | asn | nameserver | cname
    value: str
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "value": self.value, "detail": self.detail}


@dataclass(frozen=True)
class AsnInfo:
    """Origin AS of one address, as Team Cymru announces it."""

    address: str
    status: str  # ok | error
    asn: int | None = None
    prefix: str | None = None
    country: str | None = None
    registry: str | None = None
    reason: str = ""

    def to_dict(self) -> dict:
        data = {"address": self.address, "status": self.status}
        if self.status == "ok":
            data.update(asn=self.asn, prefix=self.prefix, country=self.country, registry=self.registry)
        else:
            data["reason"] = self.reason
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


def lookup_asn(address: str, resolver: Resolver, lifetime: float) -> AsnInfo:
    """Blocking: the origin ASN of a public address via Team Cymru DNS (ipwhois)."""
    # imported on first use: ipwhois and what it pulls in are a tenth of a batch run's start-up,
    # and most hosts (every one in a published provider range) never need it
    from ipwhois.asn import IPASN
    from ipwhois.exceptions import ASNLookupError, ASNParseError, ASNRegistryError, IPDefinedError
    from ipwhois.net import Net
    import dns.resolver

    try:
        net = Net(address)
        # ipwhois builds its own system resolver; ask ours instead, within our budget.
        net.dns_resolver = resolver.sync_resolver(lifetime)
        data = IPASN(net).lookup(asn_methods=["dns"], retry_count=1, get_asn_description=False)
    except IPDefinedError as err:
        return AsnInfo(address, "error", reason=f"reserved address: {err}")
    except (ASNLookupError, ASNRegistryError) as err:
        return AsnInfo(address, "error", reason=f"the ASN lookup found no answer ({err})")
    except ASNParseError as err:  # a TXT answer that is not Team Cymru's "ASN | prefix | ..." line
        return AsnInfo(address, "error", reason=f"the ASN answer could not be read ({err})")
    except (dns.resolver.NoResolverConfiguration, OSError, ValueError) as err:
        return AsnInfo(address, "error", reason=f"the ASN lookup could not run ({err})")
    try:
        asn = int(str(data.get("asn", "")).split()[0])
    except (ValueError, IndexError):
        return AsnInfo(address, "error", reason=f"unexpected ASN answer {data.get('asn')!r}")
    return AsnInfo(
        address, "ok", asn=asn, prefix=data.get("asn_cidr"), country=data.get("asn_country_code"),
        registry=data.get("asn_registry"),
    )


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

    async def detect(self, dataset: Dataset, records: HostRecords, deadline: float) -> Findings:
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
            findings.asns = await self._asns(unexplained[:MAX_ASN_LOOKUPS], deadline)
            for info in findings.asns:
                provider_id = dataset.provider_for_asn(info.asn) if info.asn is not None else None
                if provider_id:
                    findings.add(provider_id, Evidence(
                        "asn", f"AS{info.asn}", f"{info.address} is announced by AS{info.asn} ({info.prefix})"))
        return findings

    async def _asns(self, addresses: list[str], deadline: float) -> list[AsnInfo]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return [AsnInfo(a, "error", reason="the time budget ran out before the ASN lookup") for a in addresses]
        tasks = [asyncio.to_thread(lookup_asn, address, self.resolver, remaining) for address in addresses]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*tasks), timeout=remaining + 0.05))
        except asyncio.TimeoutError:
            return [AsnInfo(a, "error", reason="no ASN answer within the time budget") for a in addresses]
