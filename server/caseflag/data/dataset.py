"""The curated list in memory: load data/, refuse broken data, build the lookup indexes."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import os
import pickle
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..core.domains import Hostname
from ..core.errors import DatasetError, NotFound
from .lint import Problem, check_and_index
from .model import Case, Entity, Provider, Source
from ..core.ranges import RangeIndex
from .records import KINDS, content_version, data_files, read_all

log = logging.getLogger(__name__)

TARGET_ROLES = frozenset({"defendant", "subject"})
# Entity fields that name another entity: field -> (what the other entity is to this one, and
# what this one is to it). `mega.successor_of = "megaupload"`: Megaupload is MEGA's predecessor.
RELATION_FIELDS = {
    "successor_of": ("predecessor", "successor"),
    "predecessor_of": ("successor", "predecessor"),
    "mirror_of": ("original", "mirror"),
    "operated_by": ("operator", "operates"),
}


class DomainMatch(NamedTuple):  # built on every list hit: a tuple is made in a fraction of a dataclass's time
    """Which entity a host name belongs to, and through which listed domain."""

    entity: Entity
    matched_by: str  # registrable_domain | alias | hostname
    domain: str
    relation: str | None = None  # for aliases: mirror | former | successor | redirect


@dataclass(frozen=True)
class Involvement:
    """One entity's part in one case."""

    case: Case
    role: str
    source_ids: tuple[str, ...]


class _PatternIndex(dict):
    """Host name patterns ("*.ns.cloudflare.com" or an exact name), lowercase, to (provider id, pattern)."""

    def add(self, patterns: list[str], provider_id: str) -> None:
        for pattern in patterns:
            pattern = pattern.lower().rstrip(".")
            self[pattern] = (provider_id, pattern)

    def match(self, name: str) -> tuple[str, str] | None:
        """(provider_id, pattern) of the name itself, else of the nearest wildcard above it; else None."""
        name = name.lower().rstrip(".")
        labels = name.split(".")
        candidates = [name] + ["*." + ".".join(labels[index:]) for index in range(1, len(labels))]
        return next(filter(None, map(self.get, candidates)), None)


@dataclass
class Dataset:
    data_dir: Path
    version: str
    entities: dict[str, Entity]
    cases: dict[str, Case]
    sources: dict[str, Source]
    providers: dict[str, Provider]
    warnings: list[Problem] = field(default_factory=list)
    # True when every listed domain and alias is known to be its own registrable domain (the
    # linter refuses any other, so Dataset.load passes True): a match then takes one lookup.
    registrable_only: bool = field(default=False, repr=False, compare=False)
    # The domain index (domain -> (entity, alias relation)) when the linter already built it from
    # these same entities (Dataset.load); built here otherwise.
    domain_index: dict | None = field(default=None, repr=False, compare=False)
    # Values derived from this dataset version and reused across requests (see verdict.py).
    memo: dict = field(default_factory=dict, repr=False, compare=False)
    loaded_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        self._domains: dict[str, tuple[dict, str | None]] = {}  # domain -> (entity, alias relation)
        if self.domain_index is not None:
            self._domains, self.domain_index = self.domain_index, None
        else:
            for entity in self.entities.values():
                # One tuple shared by all the entity's domains, added without a Python loop (a million of them).
                self._domains.update(dict.fromkeys(entity.get("domains", []), (entity, None)))
                for alias in entity.get("aliases", []):
                    self._domains[alias["domain"]] = (entity, alias["relation"])
        self._involvements: dict[str, list[Involvement]] = {}
        for case in sorted(self.cases.values(), key=case_sort_date, reverse=True):
            for party in case.get("parties", []):
                involvement = Involvement(case, party["role"], tuple(party.get("source_ids", [])))
                self._involvements.setdefault(party["entity_id"], []).append(involvement)
        # Relations between entities, read from both sides so a one-sided record still counts.
        self._related: dict[str, dict[str, str]] = {}
        for entity in self.entities.values():
            for key, (relation, inverse) in RELATION_FIELDS.items():
                if other_id := entity.get(key):  # other_id is the entity's relation; it, other_id's inverse
                    self._related.setdefault(entity["id"], {}).setdefault(other_id, relation)
                    self._related.setdefault(other_id, {}).setdefault(entity["id"], inverse)
        self._asns: dict[int, str] = {}
        self._nameservers, self._cnames = _PatternIndex(), _PatternIndex()
        entries = []
        for provider in self.providers.values():
            self._asns.update((int(asn), provider["id"]) for asn in provider.get("asns", []))
            self._nameservers.add(provider.get("nameserver_patterns", []), provider["id"])
            self._cnames.add(provider.get("cname_patterns", []), provider["id"])
            entries += [(cidr, provider["id"]) for cidr in provider.get("ipv4", []) + provider.get("ipv6", [])]
        self._ranges: RangeIndex[str] = RangeIndex(entries)

    @classmethod
    def load(cls, data_dir: str | Path) -> Dataset:
        """Read and check data_dir. Raises DatasetError listing the fatal problems."""
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DatasetError(f"the data folder {data_dir} does not exist")
        # A big load makes millions of objects and no reference cycles: the cyclic collector,
        # which would walk everything made so far each time it ran, waits until the load is done.
        collecting = gc.isenabled()
        gc.disable()
        try:
            records = read_all(data_dir)
            if not records:
                raise DatasetError(f"the data folder {data_dir} holds no records")
            problems, domain_index = check_and_index(records, data_dir)
            fatal = [p for p in problems if p.fatal]
            if fatal:
                shown = "; ".join(p.format() for p in fatal[:5])
                more = f" (and {len(fatal) - 5} more)" if len(fatal) > 5 else ""
                raise DatasetError(f"the dataset in {data_dir} has {len(fatal)} problem(s): {shown}{more}")
            by_kind: dict[str, dict[str, dict]] = {kind: {} for kind in KINDS}
            for record in records:
                by_kind[record.kind][record.data["id"]] = record.data
            return cls(data_dir=data_dir, version=content_version(records, data_dir), warnings=problems,
                       registrable_only=True,  # the linter found no fatal problem, so no listed subdomain
                       domain_index=domain_index,  # the linter's claims of these same entities
                       **by_kind)
        finally:
            if collecting:
                gc.enable()

    def match(self, hostname: Hostname) -> DomainMatch | None:
        """The entity a host belongs to: the name itself or a parent down to its registrable domain."""
        name, registrable = hostname.name, hostname.registrable_domain
        if registrable is None:  # an IP address, or a name with no registrable domain: itself alone
            return self._found(name, registrable, self._domains.get(name))
        if self.registrable_only:
            # Speed seam (P4 match, bench/RESULTS.md): every listed name is a registrable domain
            # (the linter refuses any other), so of a host's candidates only its own registrable
            # domain can be listed, and one lookup answers what the walk below would.
            hit = self._domains.get(registrable)
            if hit is None:
                return None
            return DomainMatch(hit[0], "registrable_domain" if hit[1] is None else "alias", registrable, hit[1])
        # hostname.candidates(), walked without building the list: most names are not listed.
        parents = name.count(".") - registrable.count(".")
        if parents < 0:
            return None
        candidate, listed = name, self._domains.get
        hit = listed(candidate)
        while hit is None and parents > 0:
            candidate = candidate.partition(".")[2]
            parents -= 1
            hit = listed(candidate)
        return self._found(candidate, registrable, hit)

    @staticmethod
    def _found(candidate: str, registrable: str | None, hit: tuple[dict, str | None] | None) -> DomainMatch | None:
        """The DomainMatch of a listed candidate's (entity, relation), or None when it is not listed."""
        if hit is None:
            return None
        entity, relation = hit
        if relation is not None:
            return DomainMatch(entity, "alias", candidate, relation)
        return DomainMatch(entity, "registrable_domain" if candidate == registrable else "hostname", candidate, None)

    def entity(self, entity_id: str) -> Entity:
        """The entity with that id; NotFound when none is listed."""
        return _get(self.entities, entity_id, "entity", "entities")

    def case(self, case_id: str) -> Case:
        """The case with that id; NotFound when none is listed."""
        return _get(self.cases, case_id, "case", "cases")

    def related(self, entity_id: str) -> list[tuple[str, Entity]]:
        """(relation, entity) for each entity one hop away; relation says what that entity is to
        this one: successor, predecessor, mirror, original, operator or operates."""
        return [(relation, self.entities[other_id])
                for other_id, relation in self._related.get(entity_id, {}).items() if other_id in self.entities]

    def involvements(self, entity_id: str) -> list[Involvement]:
        """The entity's parts in cases, newest case first."""
        return self._involvements.get(entity_id, [])

    def providers_for_address(self, address: str) -> tuple[tuple[str, object], ...]:
        """(provider_id, network) pairs whose published ranges hold the address."""
        return self._ranges.lookup(address)

    def provider_for_asn(self, asn: int) -> str | None:
        return self._asns.get(int(asn))

    def provider_for_nameserver(self, name: str) -> tuple[str, str] | None:
        return self._nameservers.match(name)

    def provider_for_cname(self, name: str) -> tuple[str, str] | None:
        return self._cnames.match(name)

    def counts(self) -> dict[str, int]:
        return {**{kind: len(getattr(self, kind)) for kind in KINDS}, "domains": len(self._domains)}


def _get(records: dict[str, dict], record_id: str, kind: str, plural: str) -> dict:
    record = records.get(record_id)
    if record is None:
        raise NotFound(f"No {kind} with the id {record_id!r} is listed; see /api/v1/{plural}.")
    return record


def case_sort_date(case: Case) -> str:
    """The date a case is sorted by: decided, else filed, else reported ('' when none)."""
    dates = case.get("dates") or {}
    return str(dates.get("decided") or dates.get("filed") or dates.get("reported") or "")


class DatasetStore:
    """Holds the dataset being served; a load that meets broken data keeps the last good one.

    With `check_every` seconds > 0, `latest()` reloads changed files (by name, size and mtime) at
    most that often. With `last_good` (a path), each dataset loaded is kept there, and a store made
    while data/ is broken (a new gunicorn worker) serves that one, `last_error` saying so. The file
    is a pickle: it must live where only the service writes (`caseflag serve`'s private folder).
    """

    def __init__(self, data_dir: str | Path, check_every: float = 0.0, timer=time.monotonic,
                 last_good: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.check_every = check_every
        self._timer = timer
        self._lock = threading.Lock()
        self._last_good = Path(last_good) if last_good else None
        self._fingerprint = self._files_fingerprint()
        self.last_error: str | None = None
        try:
            self.current: Dataset = Dataset.load(self.data_dir)
        except DatasetError as err:
            self.current = self._kept(err)
        else:
            self._keep(self.current)
        self._next_check = timer() + check_every

    def _keep(self, dataset: Dataset) -> None:
        """Write the dataset to the last-good file (whole or not at all: written aside, then renamed)."""
        if self._last_good is None:
            return
        aside = self._last_good.with_name(f"{self._last_good.name}.{os.getpid()}.tmp")
        try:
            with open(aside, "wb") as out:
                pickle.dump(dataset, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(aside, self._last_good)
        except OSError as err:
            log.error("could not keep the last good dataset in %s: %s", self._last_good, err.strerror)
            with contextlib.suppress(OSError):
                aside.unlink()

    def _kept(self, err: DatasetError) -> Dataset:
        """The last good dataset, when data/ is broken at start; the load's error when none was kept."""
        try:
            with open(self._last_good, "rb") as kept:  # type: ignore[arg-type]
                dataset = pickle.load(kept)
        except Exception:  # none kept, or unreadable (another version's): the load's own error
            raise err from None
        self.last_error = f"{err.message} (serving the last good list, version {dataset.version}, kept from before)"
        log.error("data/ is broken; serving the last good dataset, version %s: %s", dataset.version, err.message)
        return dataset

    def _files_fingerprint(self) -> tuple:
        entries = []
        for kind, path in data_files(self.data_dir):
            with contextlib.suppress(OSError):  # a file removed since the listing
                stat = path.stat()
                entries.append((kind, path.name, stat.st_size, stat.st_mtime_ns))
        return tuple(entries)

    def reload(self) -> bool:
        """Load data_dir again. Returns False, keeping the served dataset, when it is broken."""
        try:
            fingerprint = self._files_fingerprint()
            dataset = Dataset.load(self.data_dir)
        except DatasetError as err:
            self.last_error = err.message
            log.error("dataset reload failed; still serving version %s: %s", self.current.version, err.message)
            return False
        self.current, self._fingerprint, self.last_error = dataset, fingerprint, None
        self._keep(dataset)
        return True

    def latest(self) -> Dataset:
        """The dataset to answer with, reloaded first if its files changed since the last look."""
        if self.check_every > 0 and self._timer() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._next_check = self._timer() + self.check_every
                if self._files_fingerprint() != self._fingerprint:
                    self.reload()
            finally:
                self._lock.release()
        return self.current
