"""The answer to "what is known about this site?" and its JSON shape (the API contract)."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field

from .dataset import TARGET_ROLES, Dataset, DomainMatch, Involvement
from .domains import Hostname
from .providers import AsnInfo, Evidence

TARGET, PARTY, RELATED, INFRASTRUCTURE, NONE = "target", "party", "related", "infrastructure", "none"
# In order of precedence: the first level that applies is the verdict.
BADGE_COLORS = {TARGET: "#c62828", PARTY: "#1565c0", RELATED: "#78909c", INFRASTRUCTURE: "#f9a825", NONE: "#757575"}
RELATED_BADGE = "~"
# The most telling role first: what the match's headline role is.
ROLE_ORDER = ("defendant", "subject", "plaintiff", "intermediary", "rights_holder", "named")
ROLE_WORDS = {
    "defendant": "the defendant",
    "subject": "the subject",
    "plaintiff": "a plaintiff",
    "intermediary": "an intermediary",
    "rights_holder": "a rights holder",
    "named": "named",
}
# What the site's entity is to a related one, by the related entity's relation to it
# (dataset.RELATION_FIELDS): MEGA's predecessor is Megaupload, so MEGA is "the successor of" it.
RELATION_PHRASES = {
    "predecessor": "the successor of",
    "successor": "the predecessor of",
    "original": "a mirror of",
    "mirror": "the original of",
    "operator": "operated by",
    "operates": "the operator of",
}
RELATION_ORDER = tuple(RELATION_PHRASES)


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

    def to_json(self) -> str:
        """A compact form for the shared cache."""
        return json.dumps({
            "status": self.status, "reason": self.reason, "addresses": self.addresses,
            "nameservers": self.nameservers, "cnames": self.cnames,
            "providers": {pid: [e.to_dict() for e in items] for pid, items in self.providers.items()},
            "asns": [vars(info) for info in self.asns], "elapsed_ms": self.elapsed_ms,
        })

    @classmethod
    def from_json(cls, raw: str | bytes) -> Infrastructure:
        data = json.loads(raw)
        return cls(
            status=data["status"], reason=data["reason"], addresses=tuple(data["addresses"]),
            nameservers=tuple(data["nameservers"]), cnames=tuple(data["cnames"]),
            providers={pid: tuple(Evidence(**e) for e in items) for pid, items in data["providers"].items()},
            asns=tuple(AsnInfo(**info) for info in data["asns"]), elapsed_ms=data["elapsed_ms"],
        )


def _case_date(case: dict) -> str | None:
    dates = case.get("dates") or {}
    return dates.get("filed") or dates.get("reported") or dates.get("decided")


def sources_for(dataset: Dataset, source_ids, lang: str | None) -> list[dict]:
    items = []
    for source_id in dict.fromkeys(source_ids):
        source = dataset.sources.get(source_id)
        if source is None:
            continue
        item = {
            "id": source["id"],
            "publisher": source["publisher"],
            "title": source["title"],
            "date": source.get("published"),
            "language": source["language"],
            "kind": source["kind"],
        }
        if source.get("url"):
            item["url"] = source["url"]
        items.append(item)
    items.sort(key=lambda s: str(s["date"] or ""), reverse=True)
    if lang:
        primary = lang.split("-")[0].lower()
        items.sort(key=lambda s: s["language"].split("-")[0].lower() != primary)
    return items


def case_dict(dataset: Dataset, involvement: Involvement, lang: str | None) -> dict:
    case = involvement.case
    source_ids = list(involvement.source_ids) + list(case.get("source_ids", []))
    data = {
        "id": case["id"],
        "title": case["title"],
        "type": case["type"],
        "date": _case_date(case),
        "dates": case.get("dates", {}),
        "status": case["status"],
        "role": involvement.role,
        "jurisdiction": case.get("jurisdiction"),
        "summary": case.get("summary"),
        "sources": sources_for(dataset, source_ids, lang),
    }
    for key in ("court", "docket", "outcome"):
        if case.get(key):
            data[key] = case[key]
    return data


def _headline_role(involvements: list[Involvement]) -> str | None:
    roles = {inv.role for inv in involvements}
    return next((role for role in ROLE_ORDER if role in roles), None)


def _involvements(dataset: Dataset, entity_id: str) -> list[Involvement]:
    """The entity's parts in cases: those that make it a target first, then newest first."""
    return sorted(dataset.involvements(entity_id), key=lambda inv: inv.role not in TARGET_ROLES)


def _related(dataset: Dataset, entity: dict, lang: str | None) -> list[dict]:
    """The entities one hop away, each with its own headline role and cases; those in cases
    (targets first) before the rest, then by relation."""
    items = []
    for relation, other in dataset.related(entity["id"]):
        involvements = _involvements(dataset, other["id"])
        items.append({"id": other["id"], "name": other["name"], "relation": relation,
                      "domains": other.get("domains", []), "role": _headline_role(involvements),
                      "cases": [case_dict(dataset, inv, lang) for inv in involvements]})
    items.sort(key=lambda item: (not item["cases"], item["role"] not in TARGET_ROLES,
                                 RELATION_ORDER.index(item["relation"]), item["name"].lower()))
    return items


def entity_summary(entity: dict) -> dict:
    data = {"id": entity["id"], "name": entity["name"], "kind": entity["kind"],
            "status": entity.get("status"), "description": entity.get("description")}
    if entity.get("jurisdiction"):
        data["jurisdiction"] = entity["jurisdiction"]
    return data


class SharedEntry(dict):
    """A match entry shared by every answer that matches its entity, with its JSON text made
    once: `answer_json` splices that text in instead of encoding the cases and sources again."""

    __slots__ = ("json", "_wire")

    def __init__(self, data: dict, text: str | None = None) -> None:
        super().__init__(data)
        self.json = text if text is not None else _dumps(data)
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        """The JSON text as bytes (ASCII), made once: a batch writes it to the file as it is."""
        if self._wire is None:
            self._wire = self.json.encode("ascii")
        return self._wire

    def with_fields(self, **extra: str) -> SharedEntry:
        """A copy with more fields (after the shared ones), its text made from the shared text."""
        fields = ", ".join(f"{_dumps(key)}: {_dumps(value)}" for key, value in extra.items())
        text = self.json[:-1] + (", " if self and fields else "") + fields + "}"
        return SharedEntry({**self, **extra}, text)


def _dumps(value) -> str:
    # ASCII with \u escapes: a pure-ASCII str is joined and written as UTF-8 at memcpy speed,
    # where one non-ASCII letter would widen a whole 17 kB record.
    return _encode(value)


# json.dumps's text exactly, without its check for circular references (answers are trees built
# here): ~15 % less time per answer.
_encode = json.JSONEncoder(check_circular=False).encode


def answer_json(answer: dict) -> str:
    """The answer as JSON text. Shared match entries are spliced in as made (they are most of a
    large answer's text), so `matches` comes last; the rest is encoded as usual."""
    return b"".join(answer_wire_parts(answer)).decode("ascii")


def answer_json_parts(answer: dict, line: int | None = None) -> list[str]:
    """answer_wire_parts as text; with line, the text of {"line": line, **answer}."""
    return [part.decode("ascii") for part in answer_wire_parts(answer, line)]


def answer_wire_parts(answer: dict, line: int | None = None) -> list[bytes]:
    """The answer's JSON in pieces of bytes (the text is ASCII), shared entries as the bytes they
    keep: a batch hands a whole write's pieces to one writev, so a 17 kB record is copied once, by
    the kernel. With line, the text of {"line": line, **answer}."""
    if line is not None:
        answer = {"line": line, **answer}
    matches = answer.get("matches")
    if not matches:
        return [_dumps(answer).encode("ascii")]
    rest = {key: value for key, value in answer.items() if key != "matches"}
    head = _dumps(rest)
    parts = [(head[:-1] + ', "matches": [' if rest else '{"matches": [').encode("ascii")]
    for entry in matches:
        parts += (entry.wire if isinstance(entry, SharedEntry) else _dumps(entry).encode("ascii"), b", ")
    parts[-1] = b"]}"
    return parts


def _match_dict(dataset: Dataset, entity: dict, matched_by: str, lang: str | None, domain: str | None = None,
                relation: str | None = None) -> SharedEntry:
    """One entry of `matches`. All but the matched domain is the same for every host that matches
    the entity, so that part is built once per dataset (a batch of sites behind one provider
    repeats the provider's cases each time); callers must not change it."""
    key = ("match", entity["id"], matched_by, lang)
    entry = dataset.memo.get(key)
    if entry is None:
        entry = dataset.memo[key] = SharedEntry(_build_match_dict(dataset, entity, matched_by, lang))
    extra = {}
    if domain:
        extra["matched_domain"] = domain
    if relation:
        extra["relation"] = relation
    return entry.with_fields(**extra) if extra else entry


def _build_match_dict(dataset: Dataset, entity: dict, matched_by: str, lang: str | None) -> dict:
    involvements = _involvements(dataset, entity["id"])
    return {
        "entity": entity_summary(entity),
        "matched_by": matched_by,
        "role": _headline_role(involvements),
        "cases": [case_dict(dataset, inv, lang) for inv in involvements],
        "aliases": [{"domain": a["domain"], "relation": a["relation"]} for a in entity.get("aliases", [])],
        "related": _related(dataset, entity, lang),
    }


def _chain(rel: dict) -> str:
    """'the successor of Megaupload, the defendant in "United States v. Dotcom" and 1 more case'."""
    first, more = rel["cases"][0], len(rel["cases"]) - 1
    tail = f" and {_case_count(more)} more" if more else ""
    return (f"{RELATION_PHRASES[rel['relation']]} {rel['name']}, {ROLE_WORDS[first['role']]} "
            f"in \"{first['title']}\"{tail}")


def _relation_sentence(name: str, rel: dict) -> str:
    """'MEGA has a predecessor: Megaupload.', or 'Mediaservices operates AllofMP3.'"""
    if rel["relation"] == "operates":
        return f"{name} operates {rel['name']}."
    article = "an" if rel["relation"][0] in "aeiou" else "a"
    return f"{name} has {article} {rel['relation']}: {rel['name']}."


def _case_count(n: int) -> str:
    return f"{n} case" if n == 1 else f"{n} cases"


def _describe_evidence(provider_name: str, evidence: tuple[Evidence, ...]) -> str:
    parts = []
    for item in evidence:
        if item.kind == "ip_range":
            parts.append(f"{item.value} is in its published range {item.detail}")
        elif item.kind == "asn":
            parts.append(item.detail)
        elif item.kind == "nameserver":
            parts.append(f"nameserver {item.value} matches {item.detail}")
        elif item.kind == "cname":
            parts.append(f"the name points (CNAME) to {item.value}")
    return f"Served by {provider_name}: " + "; ".join(parts) + "."


def build(dataset: Dataset, query: str, hostname: Hostname, infrastructure: Infrastructure,
          lang: str | None = None, cached: bool = False) -> dict:
    """The full response for one checked host."""
    match: DomainMatch | None = dataset.match(hostname)
    matches: list[dict] = []
    reasons: list[str] = []
    level = NONE
    badge_text = ""

    if match is not None:
        entry = _match_dict(dataset, match.entity, match.matched_by, lang, match.domain, match.relation)
        matches.append(entry)
        name = match.entity["name"]
        via = f" (a {match.relation} domain)" if match.relation else ""
        count = len(entry["cases"])
        tied = [rel for rel in entry["related"] if rel["cases"]]
        if count:
            first = entry["cases"][0]
            more = f" and appears in {count - 1} more case{'s' if count > 2 else ''}" if count > 1 else ""
            level, badge_text = (TARGET, "!") if dataset.is_target(match.entity["id"]) else (PARTY, "i")
            reasons.append(f"{match.domain}{via} belongs to {name}, {ROLE_WORDS[first['role']]} "
                           f"in \"{first['title']}\"{more}.")
        elif tied:
            # Named in no case itself, but one hop from an entity that is: the chain is the reason.
            level, badge_text = RELATED, RELATED_BADGE
            reasons.append(f"{match.domain}{via} belongs to {name}, {_chain(tied[0])}.")
            reasons += [f"{name} is also {_chain(rel)}." for rel in tied[1:]]
        else:
            reasons.append(f"{match.domain}{via} belongs to {name}, which is listed but named in no case.")
        for rel in entry["related"]:
            if level != RELATED or not rel["cases"]:
                reasons.append(_relation_sentence(name, rel))

    provider_entries = []
    matched_ids = {m["entity"]["id"] for m in matches}
    for provider_id, evidence in infrastructure.providers.items():
        provider = dataset.providers.get(provider_id)
        if provider is None:
            continue
        entity = dataset.entities.get(provider["entity_id"])
        provider_name = provider.get("name") or (entity or {}).get("name", provider_id)
        summary = _describe_evidence(provider_name, evidence)
        provider_entries.append({
            "id": provider_id, "name": provider_name, "short_label": provider["short_label"],
            "entity_id": provider["entity_id"], "evidence": [e.to_dict() for e in evidence],
            "summary": summary,
        })
        reasons.append(summary)
        if entity is not None and dataset.involvements(entity["id"]):
            if level == NONE:
                level, badge_text = INFRASTRUCTURE, provider["short_label"]
            if entity["id"] not in matched_ids:
                entry = _match_dict(dataset, entity, "provider", lang)
                matches.append(entry)
                matched_ids.add(entity["id"])
                reasons.append(f"{provider_name} is {ROLE_WORDS[entry['role']]} in "
                               f"{_case_count(len(entry['cases']))} about sites it serves.")

    if infrastructure.status != "resolved":
        reasons.append(f"Infrastructure {_status_words(infrastructure.status)}: {infrastructure.reason}")
    if level == NONE and match is None:
        reasons.insert(0, f"{hostname.registrable_domain or hostname.name} is not in the list of entities "
                          "named in enforcement reporting.")

    return {
        "query": query,
        "hostname": hostname.name,
        "hostname_unicode": hostname.unicode,
        "registrable_domain": hostname.registrable_domain,
        "is_ip": hostname.is_ip,
        "verdict": {"level": level, "badge": {"text": badge_text, "color": BADGE_COLORS[level]},
                    "reasons": reasons},
        "matches": matches,
        "infrastructure": {
            "status": infrastructure.status,
            "reason": infrastructure.reason,
            "addresses": list(infrastructure.addresses),
            "nameservers": list(infrastructure.nameservers),
            "cnames": list(infrastructure.cnames),
            "providers": provider_entries,
            "asns": [info.to_dict() for info in infrastructure.asns],
            "elapsed_ms": infrastructure.elapsed_ms,
        },
        "dataset_version": dataset.version,
        "checked_at": now_iso(),
        "cached": cached,
    }


def now_iso() -> str:
    """The current UTC time to the second, as ISO 8601 text (made once per second)."""
    second = int(time.time())
    if _now[0] != second:
        _now[:] = [second, dt.datetime.fromtimestamp(second, dt.timezone.utc).isoformat(timespec="seconds")]
    return _now[1]


_now: list = [None, ""]


def _status_words(status: str) -> str:
    return {"nxdomain": "not found", "unavailable": "unknown", "skipped": "not checked"}.get(status, status)
