"""The records' typed model: one TypedDict per kind, with the fields of its JSON Schema in data/schema/.

The schemas stay the contract (the linter judges every record by them, and maintainers' editors
read them); these types say the same in Python for the code that reads records, which at run time
stay the plain dicts records.py reads. tests/test_dataset.py holds the two to the same fields.
"""

from typing import Literal, NotRequired, TypedDict


class Alias(TypedDict):
    domain: str
    relation: Literal["mirror", "former", "successor", "redirect"]
    source_ids: list[str]


class EntityGerman(TypedDict):
    description: NotRequired[str]


class Entity(TypedDict):
    id: str
    name: str
    kind: Literal["website", "company", "organisation", "intermediary", "person", "government"]
    domains: list[str]
    jurisdiction: NotRequired[str]
    status: Literal["active", "offline", "seized", "unknown"]
    description: str
    de: NotRequired[EntityGerman]
    successor_of: NotRequired[str]
    predecessor_of: NotRequired[str]
    mirror_of: NotRequired[str]
    operated_by: NotRequired[str]
    source_ids: NotRequired[list[str]]
    note: NotRequired[str]
    last_reviewed: str
    aliases: NotRequired[list[Alias]]


class Party(TypedDict):
    entity_id: str
    role: Literal["defendant", "plaintiff", "subject", "intermediary", "rights_holder", "named", "mentioned"]
    source_ids: list[str]


class CaseDates(TypedDict):
    filed: NotRequired[str]
    decided: NotRequired[str]
    reported: NotRequired[str]


class CaseGerman(TypedDict):
    title: NotRequired[str]
    summary: NotRequired[str]
    outcome: NotRequired[str]


class Case(TypedDict):
    id: str
    title: str
    type: Literal["lawsuit", "criminal", "subpoena", "court_order", "injunction", "settlement", "trade_pressure",
                  "raid"]
    jurisdiction: str
    court: NotRequired[str]
    docket: NotRequired[str]
    status: Literal["filed", "pending", "settled", "dismissed", "judgment", "acquitted", "convicted", "unknown"]
    outcome: NotRequired[str]
    summary: str
    de: NotRequired[CaseGerman]
    source_ids: list[str]
    note: NotRequired[str]
    last_reviewed: str
    dates: CaseDates
    parties: list[Party]


class Source(TypedDict):
    id: str
    url: NotRequired[str]
    publisher: str
    title: str
    language: str
    published: NotRequired[str]
    kind: Literal["news", "court_record", "government", "press_release"]
    note: NotRequired[str]
    last_reviewed: str


class HeaderPattern(TypedDict):
    name: str
    value: NotRequired[str]


class RangesSource(TypedDict):
    url: str
    taken: str
    note: NotRequired[str]


class Provider(TypedDict):
    id: str
    entity_id: str
    name: str
    short_label: str
    asns: list[int]
    ipv4: list[str]
    ipv6: list[str]
    nameserver_patterns: list[str]
    cname_patterns: list[str]
    header_patterns: NotRequired[list[HeaderPattern]]
    last_reviewed: str
    ranges_source: RangesSource


# Each kind's folder under data/ and its type.
KIND_TYPES = {"entities": Entity, "cases": Case, "sources": Source, "providers": Provider}
