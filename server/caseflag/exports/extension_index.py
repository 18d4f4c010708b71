"""The extension's built-in index: the dataset, the public suffix rules and the special-use names in
one compact JSON document, so `extension/local.js` answers as the server does with no server at all.

The same data and the same library versions give byte-identical text (`index_text`); the API serves
it at /api/v1/dataset/index and `caseflag data export --format extension` writes it.
"""

from __future__ import annotations

import hashlib
import json
import re

import idna

from ..data.dataset import Dataset
from ..core.domains import SuffixList, default_suffix_list
from ..core.messages import DEFAULT_LANGUAGE, catalogues, render
from ..core.specialuse import NEVER_RESOLVED_TLDS, SPECIAL_USE_KINDS, SPECIAL_USE_SUFFIXES, not_global_networks
from ..service.verdict import (BADGE_COLORS, BADGE_TEXTS, MENTIONED, case_date, match_dict, entity_summary, entity_verdict,
                      provider_explanation, text_in)

# Raised when the shape changes in a way an older local.js cannot read (it refuses other numbers).
FORMAT = 2
# Why the extension knows nothing of who serves a site: an onion name, or the browser's connection not read.
SKIPPED = ("never_resolved", "no_permission")
_FULL_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def build_index(dataset: Dataset) -> dict:
    """The index as a dict, in the order it is written.

    Each entity carries what the server answers for its sites with DNS off: its level and its
    explanations (per language, `de` only where it differs from `en`), the match entry's parts
    (cases with their sources, related entities in the answer's order); each provider the
    explanation its cases add when it serves a site. The extension looks these up and words them
    with `messages`, the catalogue; it decides nothing itself."""
    return {
        "format": FORMAT,
        "version": dataset.version,
        "date": newest_date(dataset),
        # Every listed name is a registrable domain (the linter's rule): a host's is the one name to look up.
        "registrable_only": dataset.registrable_only,
        "messages": catalogues(),
        "badges": {level: {"text": BADGE_TEXTS[level], "color": color} for level, color in BADGE_COLORS.items()},
        "entities": [_entity(dataset, dataset.entities[key]) for key in sorted(dataset.entities)],
        "cases": {key: _case(dataset.cases[key]) for key in sorted(dataset.cases)},
        "sources": {key: _source(dataset.sources[key]) for key in sorted(dataset.sources)},
        "providers": [_provider(dataset, dataset.providers[key]) for key in sorted(dataset.providers)],
        "skipped": {code: _by_language(lambda lang, code=code: _skipped(code, lang)) for code in SKIPPED},
        "public_suffixes": public_suffix_rules(),
        "special_use": {"suffixes": {suffix: SPECIAL_USE_KINDS[suffix] for suffix in SPECIAL_USE_SUFFIXES},
                        "never_resolved": list(NEVER_RESOLVED_TLDS)},
        "not_global": not_global_networks(),
    }


def index_text(dataset: Dataset) -> str:
    """The index as JSON text: compact, UTF-8 as written, one trailing newline."""
    return json.dumps(build_index(dataset), ensure_ascii=False, separators=(",", ":")) + "\n"


def cached_index(dataset: Dataset) -> tuple[bytes, str]:
    """(UTF-8 body, strong ETag) of the dataset's index, built once per dataset version."""
    key = ("extension_index",)
    hit = dataset.memo.get(key)
    if hit is None:
        body = index_text(dataset).encode("utf-8")
        hit = dataset.memo[key] = (body, hashlib.sha256(body).hexdigest()[:32])
    return hit


def newest_date(dataset: Dataset) -> str:
    """The newest full date (YYYY-MM-DD) anywhere in the records: reviews, case dates, publications.
    Derived from the data, so the same data gives the same date, and newer data a date not older."""
    found = ""
    stack: list = [dataset.entities, dataset.cases, dataset.sources, dataset.providers]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and _FULL_DATE.match(value) and value > found:
            found = value
    return found


def _by_language(make) -> dict:
    """{"en": make("en"), "de": …}: each other language only where it differs from English."""
    english = make(DEFAULT_LANGUAGE)
    out = {DEFAULT_LANGUAGE: english}
    for lang in catalogues():
        if lang != DEFAULT_LANGUAGE and (other := make(lang)) != english:
            out[lang] = other
    return out


def _entity(dataset: Dataset, entity: dict) -> dict:
    """The entity as the answer needs it: its domains, its level and explanations, and its match entry's
    shared part (the API's shape, cases as [case id, role, source ids in the API's order] into `cases`)."""
    level, _ = entity_verdict(dataset, entity, None)

    def refs(cases: list[dict]) -> list:
        return [[case["id"], case["role"], [source["id"] for source in case["sources"]]] for case in cases]

    entry = match_dict(dataset, entity, "registrable_domain", None)
    return {
        "id": entity["id"],
        "domains": entity.get("domains", []),
        "level": level,
        "explanations": _by_language(lambda lang: entity_verdict(dataset, entity, lang)[1]),
        "entry": {"entity": _by_language(lambda lang: entity_summary(entity, lang)), "role": entry["role"],
                  "aliases": entry["aliases"], "cases": refs(entry["cases"]),
                  "related": [{**rel, "cases": refs(rel["cases"])} for rel in entry["related"]]},
    }


def _case(case: dict) -> dict:
    """The API's case without its role and sources (the entry's reference adds them), by language."""
    def shaped(lang: str) -> dict:
        data = {"id": case["id"], "title": text_in(case, "title", lang), "type": case["type"],
                "date": case_date(case), "status": case["status"], "jurisdiction": case.get("jurisdiction")}
        data.update({key: case[key] for key in ("court", "docket") if case.get(key)})
        return data

    return _by_language(shaped)


def _skipped(code: str, lang: str) -> dict:
    """The infrastructure part of an answer whose infrastructure the extension does not know, its explanation
    and that explanation worded: the same for every such answer."""
    explanation = {"code": f"infrastructure_{code}", "params": {}}
    return {"infrastructure": {"status": "skipped", "reason": render(f"reason.{code}", {}, lang), "reason_code": code,
                               "addresses": [], "nameservers": [], "cnames": [], "providers": [], "asns": [],
                               "elapsed_ms": None},
            "explanation": explanation, "reason": render(explanation["code"], {}, lang)}


def _source(source: dict) -> dict:
    data = {"publisher": source["publisher"], "title": source["title"], "date": source.get("published"),
            "language": source["language"], "kind": source["kind"]}
    if source.get("url"):
        data["url"] = source["url"]
    return data


def _provider(dataset: Dataset, provider: dict) -> dict:
    entity = dataset.entities.get(provider["entity_id"])
    in_cases = entity is not None and any(inv.role != MENTIONED for inv in dataset.involvements(entity["id"]))
    return {
        "id": provider["id"], "name": provider["name"], "short_label": provider["short_label"],
        "entity_id": provider["entity_id"], "ipv4": provider.get("ipv4", []), "ipv6": provider.get("ipv6", []),
        "header_patterns": provider.get("header_patterns", []),
        # What serving a site adds when the provider is itself in cases (null: nothing).
        "explanations": _by_language(lambda lang: [provider_explanation(dataset, entity, provider["name"], lang)])
        if in_cases else None,
    }


def public_suffix_rules() -> dict[str, list[str]]:
    """tldextract's bundled snapshot (the rules the server splits names with), in punycode.

    The server matches a name's punycode labels against Unicode rules after decoding them; a rule
    written in punycode lets the extension compare ASCII labels directly. A rule whose label does
    not come back from decoding could never match a name, and is left out."""
    every_rule = default_suffix_list().tlds
    icann = SuffixList(include_private=False).tlds  # tldextract says a rule's side only this way
    return {"icann": _ascii_rules(icann), "private": _ascii_rules(every_rule - icann)}


def _ascii_rules(rules) -> list[str]:
    out = set()
    for rule in rules:
        labels = []
        for label in rule.split("."):
            prefix, bare = ("!", label[1:]) if label.startswith("!") else ("", label)
            if not bare.isascii():
                ascii_label = "xn--" + bare.encode("punycode").decode("ascii")
                try:
                    if idna.decode(ascii_label) != bare:
                        break
                except idna.IDNAError:
                    break
                bare = ascii_label
            labels.append(prefix + bare.lower())
        else:
            out.add(".".join(labels))
    return sorted(out)
