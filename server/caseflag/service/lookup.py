"""The service: host name → dataset match + DNS + providers + cache → the verdict.

Imports no Flask, so the API, the CLI and batch runs share it as it is.
"""

from __future__ import annotations

import asyncio
import threading
import time

from cachetools import LRUCache

from ..net.cache import SharedCache, TTLStore
from ..data.dataset import Dataset, DatasetStore
from ..core.domains import Hostname, parse
from ..core.errors import CaseflagError, NotPublicName
from ..net.dnssession import DnsSession
from ..net.network import DnsAnswer, HostRecords, Resolver
from ..net.providers import ProviderDetector
from .verdict import Infrastructure, build, now_iso

_FAILED = {"timeout", "servfail", "refused", "error"}


def _summarise(records: HostRecords) -> tuple[str, str, dict]:
    """Infrastructure status and its reason (a catalogue code and params) from the raw answers."""
    a, aaaa = records.a, records.aaaa
    if records.addresses:  # one of A and AAAA answered: the other's failure, if any, is the reason
        failed = next((x for x in (a, aaaa) if x.status in _FAILED), None)
        return ("resolved", failed.code, failed.params or {}) if failed else ("resolved", "", {})
    if a.status == "nxdomain" or aaaa.status == "nxdomain":
        said = a if a.status == "nxdomain" else aaaa
        return "nxdomain", said.code, said.params or {}
    if a.status == "nodata" and aaaa.status == "nodata":
        return "resolved", "no_addresses", {"name": a.name}
    failed = next(x for x in (a, aaaa) if x.status in _FAILED)
    return "unavailable", failed.code, failed.params or {}


class LookupService:
    """Checks host names. One instance per app; safe to share between threads."""

    guard = None  # the web app's bounds on waiting for DNS (dnsguard.DnsGuard); the CLI has none

    def __init__(self, store: DatasetStore, resolver: Resolver, cache: TTLStore[Infrastructure],
                 dns_enabled: bool = True, min_ttl: int = 30, max_ttl: int = 3600, failure_ttl: int = 60) -> None:
        self.store = store
        self.resolver = resolver
        self.cache = cache
        self.dns_enabled = dns_enabled
        self.detector = ProviderDetector(resolver)
        self.min_ttl, self.max_ttl, self.failure_ttl = min_ttl, max_ttl, failure_ttl
        # Answers already built, per (dataset version, host, language), valid while the cached
        # Infrastructure they were built from is still the one in the cache.
        self._answers: LRUCache = LRUCache(maxsize=max(1, min(cache.size, 2048)))
        self._answers_lock = threading.Lock()

    @property
    def dataset(self) -> Dataset:
        return self.store.latest()

    def session(self) -> DnsSession:
        """DNS sockets to share across many checks in one event loop (see check_many_async)."""
        return self.resolver.session()

    def check(self, text: str, lang: str | None = None, offline: bool = False) -> dict:
        """Parse and check one host; raises InvalidDomain / NotPublicName for refused input."""
        hostname = parse(text)
        dataset = self.dataset
        _refuse_unlisted(hostname, dataset)
        hit = self._cached(hostname, dataset, offline)
        if hit is not None:  # no event loop needed for an answer already known
            return self._answer_from_cache(dataset, text, hostname, hit, lang)
        return asyncio.run(self.check_hostname(text, hostname, lang, offline))

    def _answer_from_cache(self, dataset: Dataset, query: str, hostname: Hostname, infrastructure: Infrastructure,
                           lang: str | None) -> dict:
        """The verdict for a cached host, built once and then only re-stamped per request."""
        key = (dataset.version, hostname.name, lang)
        with self._answers_lock:
            built = self._answers.get(key)
        if built is None or built[0] is not infrastructure:
            built = (infrastructure, build(dataset, query, hostname, infrastructure, lang=lang, cached=True))
            with self._answers_lock:
                self._answers[key] = built
        return {**built[1], "query": query, "checked_at": now_iso(), "cached": True}

    def check_many(self, texts: list[str], lang: str | None = None, offline: bool = False,
                   concurrency: int = 50) -> list[dict]:
        """Check several inputs at once; an input's error is returned in its place, in order."""
        return asyncio.run(self.check_many_async(texts, lang, offline, concurrency))

    async def check_many_async(self, texts: list[str], lang: str | None = None, offline: bool = False,
                               concurrency: int = 50, session: DnsSession | None = None) -> list[dict]:
        """Check several inputs in this event loop; pass a session to share its sockets across calls."""
        if session is None:
            async with self.resolver.session() as own:
                return await self.check_many_async(texts, lang, offline, concurrency, own)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(text: str) -> dict:
            async with gate:
                return await self.check_one_async(text, lang, offline, session)

        return list(await asyncio.gather(*(one(text) for text in texts)))

    async def check_one_async(self, text: str, lang: str | None = None, offline: bool = False,
                              session: DnsSession | None = None) -> dict:
        """Check one input in this event loop; a refused input comes back as its error record."""
        try:
            hostname = parse(text)
            _refuse_unlisted(hostname, self.dataset)
        except CaseflagError as err:
            return {"query": text, **err.to_dict(lang), "status": err.status}
        return await self.check_hostname(text, hostname, lang, offline, session)

    async def check_hostname(self, query: str, hostname: Hostname, lang: str | None = None,
                             offline: bool = False, session: DnsSession | None = None) -> dict:
        dataset = self.dataset
        infrastructure, cached = await self.infrastructure(hostname, dataset, offline, session)
        return build(dataset, query, hostname, infrastructure, lang=lang, cached=cached)

    async def infrastructure(self, hostname: Hostname, dataset: Dataset, offline: bool = False,
                             session: DnsSession | None = None) -> tuple[Infrastructure, bool]:
        if hostname.never_resolved:
            return Infrastructure("skipped", reason_code="never_resolved"), False
        if offline or not self.dns_enabled:
            return Infrastructure("skipped", reason_code="offline"), False
        if self.resolver.unavailable_code:
            return Infrastructure("unavailable", reason_code=self.resolver.unavailable_code,
                                  reason_params=self.resolver.unavailable_params), False
        hit = self.cache.get(_cache_key(dataset, hostname))
        if hit is not None:
            return hit, True
        resolving = self._resolve(hostname, dataset, session)
        infrastructure, ttl = await (self.guard(resolving) if self.guard else resolving)
        self.cache.set(_cache_key(dataset, hostname), infrastructure, ttl)
        return infrastructure, False

    def _cached(self, hostname: Hostname, dataset: Dataset, offline: bool) -> Infrastructure | None:
        """The cached answer, where DNS would be asked at all."""
        if offline or hostname.never_resolved or not self.dns_enabled or self.resolver.unavailable_code:
            return None
        return self.cache.get(_cache_key(dataset, hostname))

    async def _resolve(self, hostname: Hostname, dataset: Dataset,
                       session: DnsSession | None) -> tuple[Infrastructure, float]:
        started = time.monotonic()
        deadline = started + self.resolver.budget
        if hostname.is_ip:
            records = HostRecords(*_literal_records(hostname.name))
        else:
            records = await self.resolver.host_records(hostname.name, hostname.registrable_domain, session)
        status, code, params = _summarise(records)
        findings = await self.detector.detect(dataset, records, deadline, session)
        infrastructure = Infrastructure(
            status=status,
            reason_code=code,
            reason_params=params,
            addresses=tuple(records.addresses),
            nameservers=tuple(records.ns.records) if records.ns and records.ns.ok else (),
            cnames=tuple(records.cnames),
            providers={pid: tuple(items) for pid, items in findings.evidence.items()},
            asns=tuple(findings.asns),
            elapsed_ms=round((time.monotonic() - started) * 1000),
        )
        return infrastructure, self._ttl(status, records)

    def _ttl(self, status: str, records: HostRecords) -> float:
        if status == "unavailable":
            return min(self.failure_ttl, 10)
        if status != "resolved" or any(x.status in _FAILED for x in records.answers):
            return self.failure_ttl
        ttls = [x.ttl for x in records.answers if x.ok and x.ttl is not None]
        ttl = min(ttls) if ttls else self.min_ttl
        return float(max(self.min_ttl, min(ttl, self.max_ttl)))


def _refuse_unlisted(hostname: Hostname, dataset: Dataset) -> None:
    """A name that is never resolved (.onion) is answered only when the list names it."""
    if hostname.never_resolved and dataset.match(hostname) is None:
        raise NotPublicName(key="error.onion_unlisted", params={"name": hostname.name})


def _cache_key(dataset: Dataset, hostname: Hostname) -> str:
    # Provider evidence depends on the dataset's ranges, so a new dataset starts a new cache.
    return f"{dataset.version}:{hostname.name}"


def _literal_records(address: str):
    """An IP literal needs no lookup: it is its own address."""
    rdtype = "AAAA" if ":" in address else "A"
    own = DnsAnswer(address, rdtype, "ok", records=(address,))
    other = DnsAnswer(address, "A" if rdtype == "AAAA" else "AAAA", "nodata")
    return (own, other, None) if rdtype == "A" else (other, own, None)


def make_cache(config: dict):
    """The in-process cache, with Redis behind it when CASEFLAG_REDIS_URL is set."""
    local = TTLStore(int(config["CACHE_SIZE"]))
    if not config.get("REDIS_URL"):
        return local
    return SharedCache(local, str(config["REDIS_URL"]), Infrastructure.to_json, Infrastructure.from_json,
                       prefix=SHARED_PREFIX)


# The shared cache's keys name the form of what they hold. Since reasons are codes (reason_params),
# a version before them would read a new value's code with no words for it in its catalogue, and
# this one would show an old value's English words: in a rolling upgrade each keeps to its own keys.
# A code added by a later version is a miss without a new prefix (Infrastructure.reason_code is typed).
SHARED_PREFIX = "caseflag:r2:"


def create_service(config: dict) -> LookupService:
    """The service the API and the CLI share, built from a resolved config (see config.resolve)."""
    return LookupService(
        store=DatasetStore(config["DATA_DIR"], check_every=float(config["RELOAD_INTERVAL"]),
                           last_good=config.get("LAST_GOOD_FILE") or None),
        resolver=Resolver(config["DNS_NAMESERVERS"], float(config["DNS_BUDGET"])),
        cache=make_cache(config),
        dns_enabled=bool(config["DNS_ENABLED"]),
        min_ttl=int(config["CACHE_MIN_TTL"]),
        max_ttl=int(config["CACHE_MAX_TTL"]),
        failure_ttl=int(config["CACHE_FAILURE_TTL"]),
    )
