"""DNS lookups with one overall time budget, run concurrently (dnspython). No policy here.

Every outcome — an answer, NXDOMAIN, no data, SERVFAIL, a refusal, a timeout, no resolver
at all — comes back as a DnsAnswer with a status and a reason, never as an exception.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from .errors import InvalidInput

OK = "ok"


@dataclass(frozen=True)
class DnsAnswer:
    """The outcome of one query: status is ok | nxdomain | nodata | servfail | refused | timeout | error."""

    name: str
    rdtype: str
    status: str
    reason: str = ""
    records: tuple[str, ...] = ()
    ttl: int | None = None
    cnames: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass(frozen=True)
class HostRecords:
    """A, AAAA (after CNAMEs) of a host name and NS of its registrable domain."""

    a: DnsAnswer
    aaaa: DnsAnswer
    ns: DnsAnswer | None
    elapsed: float = 0.0
    answers: tuple[DnsAnswer, ...] = field(default=())

    @property
    def addresses(self) -> list[str]:
        return list(self.a.records) + list(self.aaaa.records)

    @property
    def cnames(self) -> list[str]:
        seen: list[str] = []
        for answer in (self.a, self.aaaa):
            seen += [name for name in answer.cnames if name not in seen]
        return seen


def parse_nameserver(text: str) -> tuple[str, int]:
    """'127.0.0.1:5353', '[::1]:53', '10.0.0.2' or '::1' → (address, port)."""
    text = text.strip()
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif text.count(":") == 1:
        address, _, port = text.partition(":")
    else:
        address, port = text, "53"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"nameserver {text!r}: the port must be a number from 1 to 65535")
    return address, int(port)


class Resolver:
    """Configured DNS access: the nameservers to ask and the budget to keep.

    With no nameservers given, the system's configuration is read; if there is none,
    every query answers status "error" with the reason, rather than raising.
    """

    def __init__(self, nameservers: list[str] | None = None, budget: float = 2.0) -> None:
        self.budget = budget
        self.unavailable_reason: str | None = None
        self._nameservers = [parse_nameserver(entry) for entry in nameservers or []]
        try:
            self._async = self._configure(dns.asyncresolver.Resolver)
        except (dns.resolver.NoResolverConfiguration, OSError) as err:
            self.unavailable_reason = f"no DNS resolver is configured on this machine ({err})"
            self._async = None

    def _configure(self, factory):
        resolver = factory(configure=not self._nameservers)
        if self._nameservers:
            resolver.nameservers = [dns.nameserver.Do53Nameserver(addr, port) for addr, port in self._nameservers]
        resolver.cache = None  # caching is caseflag's own job (cache.py)
        # Several tries fit in the budget, so one lost UDP packet does not cost the answer.
        resolver.timeout = min(self.budget, max(0.3, self.budget / 4))
        resolver.lifetime = self.budget
        resolver.retry_servfail = False
        return resolver

    def sync_resolver(self, lifetime: float) -> dns.resolver.Resolver:
        """A blocking resolver asking the same servers, for libraries that need one (ipwhois)."""
        resolver = self._configure(dns.resolver.Resolver)
        resolver.timeout = resolver.lifetime = max(lifetime, 0.01)
        return resolver

    async def query(self, name: str, rdtype: str, deadline: float) -> DnsAnswer:
        if self._async is None:
            return DnsAnswer(name, rdtype, "error", self.unavailable_reason or "no resolver")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return DnsAnswer(name, rdtype, "timeout", "the time budget ran out before this query")
        try:
            answer = await self._async.resolve(name, rdtype, lifetime=remaining, search=False)
        except dns.resolver.NXDOMAIN:
            return DnsAnswer(name, rdtype, "nxdomain", f"{name} does not exist (NXDOMAIN)")
        except dns.resolver.NoAnswer as err:
            cnames = _cnames_of(getattr(err, "kwargs", {}).get("response"), name)
            return DnsAnswer(name, rdtype, "nodata", f"{name} has no {rdtype} records", cnames=cnames)
        except dns.resolver.LifetimeTimeout:
            return DnsAnswer(name, rdtype, "timeout", f"no answer for {name} {rdtype} within the time budget")
        except dns.resolver.NoNameservers as err:
            return DnsAnswer(name, rdtype, *_classify_no_nameservers(err, name))
        except dns.exception.Timeout:
            return DnsAnswer(name, rdtype, "timeout", f"no answer for {name} {rdtype} within the time budget")
        except (dns.exception.DNSException, OSError, ValueError) as err:
            return DnsAnswer(name, rdtype, "error", f"DNS query for {name} {rdtype} failed: {err}")
        records = tuple(sorted({rdata.to_text().rstrip(".").lower() for rdata in answer}))
        cnames = _chain(answer)
        return DnsAnswer(name, rdtype, OK, "", records, answer.rrset.ttl, cnames)

    async def host_records(self, hostname: str, registrable_domain: str | None) -> HostRecords:
        """Ask A, AAAA and NS at once; everything within one budget."""
        started = time.monotonic()
        deadline = started + self.budget
        queries = [self.query(hostname, "A", deadline), self.query(hostname, "AAAA", deadline)]
        if registrable_domain:
            queries.append(self.query(registrable_domain, "NS", deadline))
        answers = await asyncio.gather(*queries)
        a, aaaa = answers[0], answers[1]
        ns = answers[2] if registrable_domain else None
        return HostRecords(a, aaaa, ns, time.monotonic() - started, tuple(answers))


def _chain(answer) -> tuple[str, ...]:
    """The CNAME targets walked from the queried name to the final name."""
    result = getattr(answer, "chaining_result", None)
    if result is None:
        return ()
    names = []
    for rrset in result.cnames:
        for rdata in rrset:
            names.append(rdata.target.to_text().rstrip(".").lower())
    return tuple(names)


def _cnames_of(response, name: str) -> tuple[str, ...]:
    if response is None:
        return ()
    targets = []
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            targets += [rdata.target.to_text().rstrip(".").lower() for rdata in rrset]
    return tuple(targets)


def _classify_no_nameservers(err: dns.resolver.NoNameservers, name: str) -> tuple[str, str]:
    errors = getattr(err, "kwargs", {}).get("errors") or []
    text = " ".join(str(item) for item in errors)
    if "REFUSED" in text:
        return "refused", f"the DNS server refused to answer for {name}"
    if "SERVFAIL" in text:
        return "servfail", f"the DNS server failed to answer for {name} (SERVFAIL)"
    if "Connection refused" in text or "unreachable" in text.lower():
        return "error", "the DNS server could not be reached"
    return "servfail", f"no DNS server could answer for {name}"
