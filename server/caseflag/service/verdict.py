"""The answer to "what is known about this site?": the rules that build it (its model: answer.py)."""

from __future__ import annotations

import datetime as dt
from typing import get_args

from ..data.dataset import TARGET_ROLES, Dataset, DomainMatch, Involvement
from ..core.domains import Hostname
from ..data.model import Case, Entity
from ..net.infrastructure import Infrastructure
from ..core.messages import DEFAULT_LANGUAGE, catalogues, explain, language_of, render
from .answer import (Answer, CaseInvolvement, EntitySummary, Explanation, Level, Match, ProviderEntry, RelatedEntity,
                     Relation, Role, SourceRef)

TARGET, PARTY, RELATED, INFRASTRUCTURE, NONE = get_args(Level)
BADGE_COLORS = {TARGET: "#c62828", PARTY: "#1565c0", RELATED: "#78909c", INFRASTRUCTURE: "#f9a825", NONE: "#757575"}
BADGE_TEXTS = {TARGET: "!", PARTY: "i", RELATED: "~", INFRASTRUCTURE: "", NONE: ""}
# Only mentioned in reporting about a case: listed under the match, never a party or a target.
MENTIONED = "mentioned"
# The most telling role first: what the match's headline role is.
ROLE_ORDER = get_args(Role)
# Evidence about a site's own traffic: only these make a provider one that *serves* it.
SERVING_EVIDENCE = frozenset({"ip_range", "asn", "cname", "header"})
# What the site's entity is to a related one, by the related entity's relation to it
# (dataset.RELATION_FIELDS), in the order a match's `related` is sorted by; words in the catalogue.
RELATION_ORDER = get_args(Relation)
RELATION_PHRASES = {relation: catalogues()[DEFAULT_LANGUAGE][f"relation_phrase.{relation}"] for relation in RELATION_ORDER}


def case_date(case: Case) -> str | None:
    """A case's date to show: when it was filed, else reported, else decided."""
    dates = case.get("dates") or {}
    return dates.get("filed") or dates.get("reported") or dates.get("decided")


def sources_for(dataset: Dataset, source_ids, lang: str | None) -> list[SourceRef]:
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


def text_in(record: dict, field: str, lang: str | None):
    """A record's text in the language asked for: its `[de]` (or other language) table's field
    when it has one, the English field otherwise."""
    code = language_of(lang)
    if code != DEFAULT_LANGUAGE:
        translated = (record.get(code) or {}).get(field)
        if translated:
            return translated
    return record.get(field)


def case_dict(dataset: Dataset, involvement: Involvement, lang: str | None) -> CaseInvolvement:
    case = involvement.case
    source_ids = list(involvement.source_ids) + list(case.get("source_ids", []))
    data = {
        "id": case["id"],
        "title": text_in(case, "title", lang),
        "type": case["type"],
        "date": case_date(case),
        "dates": case.get("dates", {}),
        "status": case["status"],
        "role": involvement.role,
        "jurisdiction": case.get("jurisdiction"),
        "summary": text_in(case, "summary", lang),
        "sources": sources_for(dataset, source_ids, lang),
    }
    for key in ("court", "docket", "outcome"):
        if case.get(key):
            data[key] = text_in(case, key, lang)
    return data


def _headline_role(involvements: list[Involvement]) -> str | None:
    roles = {inv.role for inv in involvements}
    return next((role for role in ROLE_ORDER if role in roles), None)


def _involvements(dataset: Dataset, entity_id: str) -> list[Involvement]:
    """The entity's parts in cases: those that make it a target first, mentions last, else newest first."""
    return sorted(dataset.involvements(entity_id), key=lambda inv: (inv.role not in TARGET_ROLES, inv.role == MENTIONED))


def _party_cases(cases: list[CaseInvolvement]) -> list[CaseInvolvement]:
    """The cases an entity is a party to (every one but those it is only mentioned in)."""
    return [case for case in cases if case["role"] != MENTIONED]


def _related(dataset: Dataset, entity: Entity, lang: str | None) -> list[RelatedEntity]:
    """The entities one hop away, each with its own headline role and cases; those in cases
    (targets first) before the rest, then by relation."""
    items = []
    for relation, other in dataset.related(entity["id"]):
        involvements = _involvements(dataset, other["id"])
        items.append({"id": other["id"], "name": other["name"], "relation": relation,
                      "domains": other.get("domains", []), "role": _headline_role(involvements),
                      "cases": [case_dict(dataset, inv, lang) for inv in involvements]})
    items.sort(key=lambda item: (not _party_cases(item["cases"]), item["role"] not in TARGET_ROLES,
                                 RELATION_ORDER.index(item["relation"]), item["name"].lower()))
    return items


def entity_summary(entity: Entity, lang: str | None = None) -> EntitySummary:
    data = {"id": entity["id"], "name": entity["name"], "kind": entity["kind"],
            "status": entity.get("status"), "description": text_in(entity, "description", lang)}
    if entity.get("jurisdiction"):
        data["jurisdiction"] = entity["jurisdiction"]
    return data


def match_dict(dataset: Dataset, entity: Entity, matched_by: str, lang: str | None, domain: str | None = None,
                relation: str | None = None) -> Match:
    """One entry of `matches`. All but the matched domain is the same for every host that matches
    the entity, so that part is built once per dataset (a batch of sites behind one provider
    repeats the provider's cases each time) and shared by the answers: callers must not change it."""
    key = ("match", entity["id"], matched_by, lang)
    entry = dataset.memo.get(key)
    if entry is None:
        entry = dataset.memo[key] = _build_match_dict(dataset, entity, matched_by, lang)
    if domain or relation:
        entry = entry.copy()
        if domain:
            entry["matched_domain"] = domain
        if relation:
            entry["relation"] = relation
    return entry


def _build_match_dict(dataset: Dataset, entity: Entity, matched_by: str, lang: str | None) -> Match:
    involvements = _involvements(dataset, entity["id"])
    return {
        "entity": entity_summary(entity, lang),
        "matched_by": matched_by,
        "role": _headline_role(involvements),
        "cases": [case_dict(dataset, inv, lang) for inv in involvements],
        "aliases": [{"domain": a["domain"], "relation": a["relation"]} for a in entity.get("aliases", [])],
        "related": _related(dataset, entity, lang),
    }


def _tie(rel: RelatedEntity) -> dict:
    """The params naming a related entity and its first case: 'the successor of Megaupload, the
    defendant in "United States v. Dotcom" and 1 more case'."""
    cases = _party_cases(rel["cases"])
    return {"link": rel["relation"], "other": rel["name"], "role": cases[0]["role"], "case": cases[0]["id"],
            "title": cases[0]["title"], "more": len(cases) - 1}


def entity_verdict(dataset: Dataset, entity: Entity, lang: str | None) -> tuple[str, list[Explanation]]:
    """What the list alone says of an entity's sites: the level and the explanations, the first
    with `domain` and `relation` None (each answer fills in the host's own). Made once per
    dataset and language; the extension's built-in index carries the same."""
    key = ("verdict", entity["id"], language_of(lang))
    said = dataset.memo.get(key)
    if said is None:
        said = dataset.memo[key] = _entity_verdict(dataset, entity, lang)
    return said


def _entity_verdict(dataset: Dataset, entity: Entity, lang: str | None) -> tuple[str, list[Explanation]]:
    entry = match_dict(dataset, entity, "registrable_domain", lang)
    name, cases = entity["name"], entry["cases"]
    parties = _party_cases(cases)
    mentions = [case for case in cases if case["role"] == MENTIONED]
    tied = [rel for rel in entry["related"] if _party_cases(rel["cases"])]
    host = {"domain": None, "relation": None, "entity": name}
    said: list[Explanation] = []
    if parties:
        first = parties[0]
        intermediary = entity["kind"] == "intermediary" and first["role"] in TARGET_ROLES
        # A service sued for what its customers did is a party, never a target like the sites themselves.
        level = TARGET if any(c["role"] in TARGET_ROLES for c in parties) and not intermediary else PARTY
        said.append(explain("intermediary_sued" if intermediary else "belongs_to", **host, role=first["role"],
                            case=first["id"], title=first["title"], more=len(parties) - 1))
        if mentions:
            said.append(explain("also_mentioned", entity=name, case=mentions[0]["id"], title=mentions[0]["title"],
                                more=len(mentions) - 1))
    elif tied:
        # Named in no case itself, but one hop from an entity that is: the chain is the reason.
        level = RELATED
        said.append(explain("belongs_to_related", **host, **_tie(tied[0])))
        said += [explain("also_related", entity=name, **_tie(rel)) for rel in tied[1:]]
    elif mentions:
        level = NONE
        said.append(explain("listed_mentioned", **host, case=mentions[0]["id"], title=mentions[0]["title"],
                            more=len(mentions) - 1))
    else:
        level = NONE
        said.append(explain("listed_no_case", **host))
    for rel in entry["related"]:
        if level != RELATED or rel not in tied:
            said.append(explain("has_relation", entity=name, link=rel["relation"], other=rel["name"]))
    return level, said


def provider_explanation(dataset: Dataset, entity: Entity, provider_name: str, lang: str | None) -> Explanation:
    """What a serving provider's own cases say: 'Cloudflare was sued over sites its customers ran'."""
    cases = _party_cases(match_dict(dataset, entity, "provider", lang)["cases"])
    role = _headline_role([Involvement({}, case["role"], ()) for case in cases])
    code = "provider_sued" if entity["kind"] == "intermediary" and role in TARGET_ROLES else "provider_in_cases"
    return explain(code, provider=provider_name, role=role, count=len(cases))


# caseflag's skip reasons, each with an explanation of its own (infrastructure_<code>); every other
# code is explained as infrastructure_reason, its words the catalogue's reason.<code>.
SKIP_REASONS = ("offline", "never_resolved", "no_permission")


def infrastructure_explanation(infrastructure: Infrastructure) -> Explanation:
    code = infrastructure.reason_code
    if code in SKIP_REASONS:
        return explain(f"infrastructure_{code}")
    if code:
        return explain("infrastructure_reason", **infrastructure.reason_params, status=infrastructure.status,
                       reason_code=code)
    return explain("infrastructure_status", status=infrastructure.status, reason="")


def infrastructure_reason(infrastructure: Infrastructure, lang: str | None) -> str:
    """The infrastructure's reason in the answer's language: the catalogue's words for its code."""
    if infrastructure.reason_code:
        return render(f"reason.{infrastructure.reason_code}", infrastructure.reason_params, lang)
    return ""


def reasons_for(explanations: list[Explanation], lang: str | None) -> list[str]:
    return [render(item["code"], item["params"], lang) for item in explanations]


def _host_explanations(said: list[Explanation], domain: str, relation: str | None) -> list[Explanation]:
    first = said[0]
    return [{"code": first["code"], "params": {**first["params"], "domain": domain, "relation": relation}}, *said[1:]]


def _providers(dataset: Dataset, infrastructure: Infrastructure, lang: str | None, matches: list[Match],
               explanations: list[Explanation], level: str, badge_text: str) -> tuple[list[ProviderEntry], str, str]:
    """The providers DNS found, each with `serves`, their explanations and, for a serving provider in
    cases, its match entry; the level infrastructure when nothing else applies."""
    provider_entries = []
    matched_ids = {m["entity"]["id"] for m in matches}
    for provider_id, evidence in infrastructure.providers.items():
        provider = dataset.providers.get(provider_id)
        if provider is None:
            continue
        entity = dataset.entities.get(provider["entity_id"])
        provider_name = provider.get("name") or (entity or {}).get("name", provider_id)
        items = [e.to_dict() for e in evidence]
        # Nameserver evidence alone says who answers the site's DNS, not who serves it.
        serves = any(e.kind in SERVING_EVIDENCE for e in evidence)
        said = explain("served_by" if serves else "dns_answered_by", provider=provider_name, evidence=items)
        explanations.append(said)
        provider_entries.append({
            "id": provider_id, "name": provider_name, "short_label": provider["short_label"],
            "entity_id": provider["entity_id"], "evidence": items, "serves": serves,
            "summary": render(said["code"], said["params"], lang),
        })
        if serves and entity is not None and any(inv.role != MENTIONED for inv in dataset.involvements(entity["id"])):
            if level == NONE:
                level, badge_text = INFRASTRUCTURE, provider["short_label"]
            if entity["id"] not in matched_ids:
                matches.append(match_dict(dataset, entity, "provider", lang))
                matched_ids.add(entity["id"])
                explanations.append(provider_explanation(dataset, entity, provider_name, lang))
    return provider_entries, level, badge_text


def build(dataset: Dataset, query: str, hostname: Hostname, infrastructure: Infrastructure,
          lang: str | None = None, cached: bool = False) -> Answer:
    """The full response for one checked host."""
    match: DomainMatch | None = dataset.match(hostname)
    matches: list[Match] = []
    explanations: list[Explanation] = []
    level = NONE
    badge_text = ""

    if match is not None:
        matches.append(match_dict(dataset, match.entity, match.matched_by, lang, match.domain, match.relation))
        level, said = entity_verdict(dataset, match.entity, lang)
        badge_text = BADGE_TEXTS[level]
        explanations += _host_explanations(said, match.domain, match.relation)

    provider_entries, level, badge_text = _providers(dataset, infrastructure, lang, matches, explanations, level,
                                                     badge_text)
    if infrastructure.status != "resolved":
        explanations.append(infrastructure_explanation(infrastructure))
    if level == NONE and match is None:
        explanations.insert(0, explain("not_listed", domain=hostname.registrable_domain or hostname.name))

    return {
        "query": query,
        "hostname": hostname.name,
        "hostname_unicode": hostname.unicode,
        "registrable_domain": hostname.registrable_domain,
        "is_ip": hostname.is_ip,
        "verdict": {"level": level, "badge": {"text": badge_text, "color": BADGE_COLORS[level]},
                    "reasons": reasons_for(explanations, lang), "explanations": explanations},
        "matches": matches,
        "infrastructure": {
            "status": infrastructure.status,
            "reason": infrastructure_reason(infrastructure, lang),
            "reason_code": infrastructure.reason_code,
            "addresses": list(infrastructure.addresses),
            "nameservers": list(infrastructure.nameservers),
            "cnames": list(infrastructure.cnames),
            "providers": provider_entries,
            "asns": [info.to_dict(lang) for info in infrastructure.asns],
            "elapsed_ms": infrastructure.elapsed_ms,
        },
        "language": language_of(lang),
        "dataset_version": dataset.version,
        "checked_at": now_iso(),
        "cached": cached,
    }


def now_iso() -> str:
    """The current UTC time to the second, as ISO 8601 text."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
