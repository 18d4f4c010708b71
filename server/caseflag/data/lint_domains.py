"""The linter's domain checks: every entity's domains and aliases are registrable domains, and each
is claimed by one entity once. Mixed into lint.Checker; builds the dataset's domain index on the way."""

from __future__ import annotations

from itertools import chain, repeat

from ..core.domains import SuffixList
from ..core.domains import parse as parse_hostname
from ..core.errors import CaseflagError
from . import lint_names
from .lint_names import plain_text, runs
from .records import RawRecord


class DomainChecks:
    """Reports through self.report(); leaves every claimed name in self.domain_index."""

    _suffixes: SuffixList
    domain_index: dict[str, tuple]

    def check_domains(self, entities: list[RawRecord]) -> None:
        lists = [record.data.get("domains", []) for record in entities]
        # A list of plain registrable names (the common case) is decided at once; any other is
        # walked name by name, to report each name with its line.
        plain = self._plain_lists(lists)
        for record, is_plain, domains in zip(entities, plain, lists):
            if not is_plain:
                for domain in domains:
                    self._check_registrable(record, ("domains",), domain)
            for index, alias in enumerate(record.data.get("aliases", ())):
                self._check_registrable(record, ("aliases", index, "domain"), alias["domain"])
        index, claimed_names = _claims_index(entities, lists, plain)
        self.domain_index = index
        if len(index) != claimed_names:  # a name claimed twice: walk the claims again to report each
            self._report_repeated_claims(entities)

    def _plain_lists(self, lists: list[list]) -> list[bool]:
        """For each entity's domains, whether the whole list passes _all_plain_registrable (then it
        is not walked name by name). Asked for runs of consecutive lists at once (lint_names says
        why): the answer is a property of each name alone, so "all pass" for a run is "each
        passes"; a run that fails is asked list by list."""
        if not {list}.issuperset(map(type, lists)):
            return [self._all_plain_registrable(domains) for domains in lists]
        flags: list[bool] = []
        for run in runs(lists, lint_names.BULK_NAMES):
            if self._all_plain_registrable(list(chain.from_iterable(run))):
                flags += repeat(True, len(run))
            else:
                flags += map(self._all_plain_registrable, run)
        return flags

    def _report_repeated_claims(self, entities: list[RawRecord]) -> None:
        claims: dict[str, list[tuple[RawRecord, tuple]]] = {}  # domain -> every (record, keys) claiming it
        for record in entities:
            claimed = [(("domains",), d) for d in record.data.get("domains", [])]
            claimed += [(("aliases", i, "domain"), a["domain"]) for i, a in enumerate(record.data.get("aliases", []))]
            for keys, domain in claimed:
                if isinstance(domain, str):
                    claims.setdefault(domain, []).append((record, keys))
        for domain, found in (item for item in claims.items() if len(item[1]) > 1):
            for record, keys in found:
                others = sorted({other.path.name for other, _ in found if other is not record})
                if others:
                    self.report(record, keys, f"{domain!r} is also claimed by {', '.join(others)}",
                                "a domain belongs to one entity only; keep it where reporting places it",
                                value=domain)
                else:  # every claim is this entity's: one report says so
                    self.report(record, keys, f"{domain!r} is listed twice in this entity",
                                "remove the duplicate", value=domain)
                    break

    def _all_plain_registrable(self, domains: list) -> bool:
        """Whether every item is a plain name (what parse() passes through unchanged) that is its
        own registrable domain: the common case, decided without a full parse."""
        # (the schema refuses any domains value but a list; a Checker given records directly
        # must not read a string's characters as names)
        text = plain_text(domains) if type(domains) is list else None
        return text is not None and self._suffixes.all_registrable(domains, joined=text)

    def _check_registrable(self, record: RawRecord, keys: tuple, domain: str) -> None:
        if self._all_plain_registrable([domain]):
            return
        try:
            hostname = parse_hostname(domain)
        except CaseflagError as err:
            self.report(record, keys, f"{domain!r} is not a public domain: {err.message}",
                        "use the registrable domain, lowercase, in punycode", value=domain)
            return
        if hostname.is_ip or hostname.registrable_domain != domain:
            self.report(record, keys,
                        f"{domain!r} is not a registrable domain (its registrable domain is {hostname.registrable_domain!r})",
                        f"write {hostname.registrable_domain!r} — lowercase, punycode, no subdomain",
                        value=domain)


def _claims_index(entities: list[RawRecord], lists: list[list], plain: list[bool]) -> tuple[dict, int]:
    """Every claimed name into one index, as the dataset's domain index holds them: domain ->
    (entity, alias relation or None); and how many names were claimed. When the two counts agree,
    no name was claimed twice."""
    plain_lists = [domains for domains, is_plain in zip(lists, plain) if is_plain]
    entries = [(record.data, None) for record, is_plain in zip(entities, plain) if is_plain]
    # the plain lists (the common case) in one dict, made without a Python loop over the names
    owners = chain.from_iterable(map(repeat, entries, map(len, plain_lists)))
    index: dict[str, tuple[dict, str | None]] = dict(zip(chain.from_iterable(plain_lists), owners))
    claimed_names = sum(map(len, plain_lists))
    for record, is_plain, domains in zip(entities, plain, lists):
        if not is_plain:
            for domain in domains:
                if isinstance(domain, str):
                    index[domain] = (record.data, None)
                    claimed_names += 1
        for alias in record.data.get("aliases", ()):
            if isinstance(alias["domain"], str):
                index[alias["domain"]] = (record.data, alias.get("relation"))
                claimed_names += 1
    return index, claimed_names
