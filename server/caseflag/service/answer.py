"""The answer's typed model (what `/api/v1/check`, `caseflag check --json` and a batch's JSON lines
carry) and `encode`, the one place where an answer becomes JSON.

The model is TypedDicts: at run time an answer stays the plain dict the library has always
returned (`caseflag.check(...)["verdict"]["level"]`) and the batch's CSV and compact records
read; msgspec checks answers against these types (tests/test_answer.py) and encodes them in C.
"""

from typing import Any, Literal, NotRequired, TypedDict

import msgspec

Level = Literal["target", "party", "related", "infrastructure", "none"]


class SourceRef(TypedDict):
    id: str
    publisher: str
    title: str
    date: str | None
    language: str
    kind: str
    url: NotRequired[str]


class CaseInvolvement(TypedDict):
    """A case as an answer shows it: the record's fields and the entity's role in it."""

    id: str
    title: str
    type: str
    date: str | None
    dates: dict[str, str]
    status: str
    role: str
    jurisdiction: str | None
    summary: str | None
    sources: list[SourceRef]
    court: NotRequired[str]
    docket: NotRequired[str]
    outcome: NotRequired[str]


class EntitySummary(TypedDict):
    id: str
    name: str
    kind: str
    status: str | None
    description: str | None
    jurisdiction: NotRequired[str]


class Alias(TypedDict):
    domain: str
    relation: str


class RelatedEntity(TypedDict):
    id: str
    name: str
    relation: str
    domains: list[str]
    role: str | None
    cases: list[CaseInvolvement]


class Match(TypedDict):
    """One entity the host belongs to (or whose provider serves it), with its cases."""

    entity: EntitySummary
    matched_by: Literal["registrable_domain", "alias", "hostname", "provider"]
    role: str | None
    cases: list[CaseInvolvement]
    aliases: list[Alias]
    related: list[RelatedEntity]
    matched_domain: NotRequired[str]
    relation: NotRequired[str]


class Explanation(TypedDict):
    code: str
    params: dict[str, Any]


class Badge(TypedDict):
    text: str
    color: str


class Verdict(TypedDict):
    level: Level
    badge: Badge
    reasons: list[str]
    explanations: list[Explanation]


class Evidence(TypedDict):
    kind: Literal["ip_range", "asn", "nameserver", "cname", "header"]
    value: str
    detail: str


class ProviderEntry(TypedDict):
    id: str
    name: str
    short_label: str
    entity_id: str
    evidence: list[Evidence]
    serves: bool
    summary: str


class AsnInfo(TypedDict):
    address: str
    status: Literal["ok", "error"]
    asn: NotRequired[int | None]
    prefix: NotRequired[str | None]
    country: NotRequired[str | None]
    registry: NotRequired[str | None]
    reason: NotRequired[str]


class InfrastructureReport(TypedDict):
    status: Literal["resolved", "nxdomain", "unavailable", "skipped"]
    reason: str
    reason_code: str
    addresses: list[str]
    nameservers: list[str]
    cnames: list[str]
    providers: list[ProviderEntry]
    asns: list[AsnInfo]
    elapsed_ms: int | None


class Answer(TypedDict):
    """The whole answer for one checked host (the OpenAPI document's CheckResult)."""

    query: str
    hostname: str
    hostname_unicode: str
    registrable_domain: str | None
    is_ip: bool
    verdict: Verdict
    matches: list[Match]
    infrastructure: InfrastructureReport
    language: str
    dataset_version: str
    checked_at: str
    cached: bool


_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    """JSON as UTF-8 bytes, spaced as json.dumps spaces it (", " and ": "), as earlier releases
    wrote it: encoded by msgspec in C, then spaced by its formatter (a few µs for a 17 kB answer)."""
    return msgspec.json.format(_encoder.encode(value), indent=0)
