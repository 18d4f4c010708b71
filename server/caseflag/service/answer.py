"""The answer's typed model (what `/api/v1/check`, `caseflag check --json` and a batch's JSON lines
carry) and `encode`, the one place where an answer becomes JSON.

The model is TypedDicts: at run time an answer stays the plain dict the library has always
returned (`caseflag.check(...)["verdict"]["level"]`) and the batch's CSV and compact records
read. msgspec encodes them in C, writes their JSON Schemas for the OpenAPI document
(web/openapi_schemas.py) and, in tests/test_answer.py, checks every answer against them.
"""

from typing import Annotated, Any, Literal, NotRequired, TypedDict

import msgspec
from msgspec import Meta

from ..data.model import CaseDates
from ..net.infrastructure import ReasonCode

# In order of precedence: the first level that applies is the verdict.
Level = Literal["target", "party", "related", "infrastructure", "none"]
# An entity's part in a case, the most telling first (a match's headline role is its first).
Role = Literal["defendant", "subject", "plaintiff", "intermediary", "rights_holder", "named", "mentioned"]
# What a related entity is to the matched one, in the order a match's `related` is sorted by.
Relation = Literal["predecessor", "successor", "original", "mirror", "operator", "operates"]


class SourceRef(TypedDict):
    id: str
    publisher: str
    title: str
    date: str | None
    language: str
    kind: str
    url: NotRequired[Annotated[str, Meta(extra_json_schema={"format": "uri"})]]


class CaseInvolvement(TypedDict):
    """A case as an answer shows it: the record's fields and the entity's role in it."""

    id: str
    title: str
    type: str
    date: str | None
    dates: CaseDates
    status: str
    role: Role
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
    relation: Annotated[Relation, Meta(description="What the related entity is to the matched one "
                                                   "(predecessor: the matched entity is its successor).")]
    domains: list[str]
    role: Annotated[Role | None, Meta(description="Its headline role in cases.")]
    cases: list[CaseInvolvement]


class Match(TypedDict):
    """One entity the host belongs to (or whose provider serves it), with its cases."""

    entity: EntitySummary
    matched_by: Literal["registrable_domain", "alias", "hostname", "provider"]
    role: Role | None
    cases: list[CaseInvolvement]
    aliases: list[Alias]
    related: list[RelatedEntity]
    matched_domain: NotRequired[str]
    relation: NotRequired[str]


class Explanation(TypedDict):
    code: str  # a message of the catalogue (core/messages/)
    params: Annotated[dict[str, Any], Meta(description="The values the message's placeholders take "
                                                        "(names, titles, roles, counts, evidence).")]


class Badge(TypedDict):
    text: str
    color: Annotated[str, Meta(pattern="^#[0-9a-f]{6}$")]


class Verdict(TypedDict):
    level: Level
    badge: Badge
    reasons: Annotated[list[str], Meta(description="The explanations worded in the answer's language "
                                                   "(lang; English by default).")]
    explanations: Annotated[list[Explanation], Meta(
        description="The same reasons as data, in the same order: a code of the message catalogue "
                    "(server/caseflag/core/messages/) and its parameters.")]


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
    serves: Annotated[bool, Meta(description=(
        "true on evidence about the site's traffic (ip_range, asn, cname, header); false when only its "
        "nameservers are the provider's: it answers the site's DNS, which is not serving it and never "
        "makes the level infrastructure."))]
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
    reason: Annotated[str, Meta(description="Why the status is what it is (empty when resolved cleanly), "
                                            "in the answer's language when reason_code is set.")]
    reason_code: Annotated[ReasonCode, Meta(
        description="Why, as data: the catalogue words it as reason.<code> in the answer's language (its "
                    "parameters, e.g. the name asked, are in the infrastructure explanation's params; "
                    "no_permission only from the extension's built-in list); empty when there is no reason.")]
    addresses: list[str]
    nameservers: list[str]
    cnames: list[str]
    providers: list[ProviderEntry]
    asns: list[AsnInfo]
    elapsed_ms: int | None


class Answer(TypedDict):
    """The whole answer for one checked host."""

    query: Annotated[str, Meta(description="The input exactly as given.")]
    hostname: str
    hostname_unicode: str
    registrable_domain: str | None
    is_ip: bool
    verdict: Verdict
    matches: list[Match]
    infrastructure: InfrastructureReport
    language: Annotated[str, Meta(description="The language of the reasons and texts (en, de).")]
    dataset_version: str
    checked_at: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
    cached: bool


_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    """JSON as compact UTF-8 bytes (no spaces, as Flask writes the API's other answers), encoded by
    msgspec in C."""
    return _encoder.encode(value)
