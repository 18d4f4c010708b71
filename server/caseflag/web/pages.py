"""The browsable dataset: server-rendered HTML pages for people, no JavaScript needed.

`/` has a lookup form and an overview, `/lookup?domain=` shows what the extension's popup shows,
`/entities/<id>` and `/cases/<id>` show one record with its sources. Views stay thin: they
read the dataset or call the service and hand plain dicts to the templates.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, render_template, request

from .api import DATA_LICENCE, DATA_LICENCE_URL, service
from ..data.dataset import Dataset, case_sort_date
from ..core.errors import CaseflagError, InvalidInput
from ..service.verdict import RELATION_PHRASES, case_dict, entity_summary, sources_for

pages = Blueprint("pages", __name__, template_folder="templates")

# The same plain words as the extension's popup (extension/_locales/en/messages.json).
VERDICT_TITLES = {
    "target": "Target of copyright enforcement",
    "party": "Party to copyright cases",
    "related": "Related to an entity named in copyright cases",
    "infrastructure": "Served by infrastructure named in cases",
    "none": "Nothing known",
}
WORDS = {
    "role": {"defendant": "Defendant", "subject": "Subject", "plaintiff": "Plaintiff", "intermediary": "Intermediary",
             "rights_holder": "Rights holder", "named": "Named"},
    "kind": {"website": "Website", "company": "Company", "organisation": "Organisation",
             "intermediary": "Intermediary", "person": "Person", "government": "Government"},
    "entity_status": {"active": "active", "offline": "offline", "seized": "seized", "unknown": "status unknown"},
    "case_status": {"filed": "filed", "pending": "pending", "settled": "settled", "dismissed": "dismissed",
                    "judgment": "judgment given", "acquitted": "acquitted", "convicted": "convicted",
                    "unknown": "status unknown"},
    "case_type": {"lawsuit": "Lawsuit", "criminal": "Criminal case", "subpoena": "Subpoena",
                  "court_order": "Court order", "injunction": "Injunction", "settlement": "Settlement",
                  "trade_pressure": "Trade pressure", "raid": "Raid"},
    "relation": {"successor": "Successor", "predecessor": "Predecessor", "mirror": "Mirror",
                 "former": "Former domain", "redirect": "Redirect", "original": "Original",
                 "operator": "Operator", "operates": "Operates"},
    "matched_by": {"registrable_domain": "matched by its domain", "hostname": "matched by the host name",
                   "alias": "matched by", "provider": "matched as the site's provider"},
    "source_kind": {"news": "news", "court_record": "court record", "government": "government",
                    "press_release": "press release"},
    "date": {"filed": "Filed", "decided": "Decided", "reported": "Reported"},
}


def word(group: str, value) -> str:
    """The plain word for a known value; the value itself (underscores as spaces) otherwise."""
    if value is None:
        return ""
    return WORDS[group].get(value, str(value).replace("_", " "))


def is_http_url(value) -> bool:
    """Only http(s) addresses become links: never javascript:, data: or relative ones."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


pages.add_app_template_test(is_http_url, "http_url")


@pages.context_processor
def _globals() -> dict:
    dataset = service().dataset
    return {"word": word, "dataset_version": dataset.version, "licence": DATA_LICENCE, "licence_url": DATA_LICENCE_URL}


def sources_with_notes(dataset: Dataset, source_ids) -> list[dict]:
    """Sources as the API gives them, plus the record's note (why an address may be missing)."""
    items = sources_for(dataset, source_ids, None)
    for item in items:
        note = dataset.sources[item["id"]].get("note")
        if note:
            item["note"] = note
    return items


def verdict_words(result: dict) -> str:
    """The verdict in one plain sentence, as the popup words it."""
    level = result["verdict"]["level"]
    subject = next((m for m in result["matches"] if m["matched_by"] != "provider"), None) or \
        next(iter(result["matches"]), None)
    name = subject["entity"]["name"] if subject else ""
    if level == "target":
        return (f"This site belongs to {name}, against which copyright-enforcement cases were brought." if name
                else "This site is named as the target of copyright-enforcement cases.")
    if level == "party":
        return (f"This site belongs to {name}, a party to copyright-enforcement cases, but not their target." if name
                else "This site is tied to a party to copyright-enforcement cases, but not their target.")
    if level == "related":
        tied = next((other for other in (subject or {}).get("related", []) if other["cases"]), None)
        return (f"This site belongs to {name}, which is named in no case itself. It is "
                f"{RELATION_PHRASES[tied['relation']]} {tied['name']}, which is named in copyright-enforcement "
                "cases; that relation is the whole tie." if tied
                else "This site is tied to copyright-enforcement cases only through a related entity.")
    if level == "infrastructure":
        providers = result["infrastructure"]["providers"]
        provider = providers[0]["name"] if providers else "a provider"
        return (f"This site is served by {provider}, which appears in copyright-enforcement cases about sites "
                "it serves. That alone says nothing about this site.")
    if result["infrastructure"]["status"] == "unavailable":
        return ("caseflag knows of no case tied to this site's name. Who serves it is unknown, "
                "because DNS could not be asked.")
    return "caseflag knows of no copyright-enforcement case tied to this site."


def infrastructure_words(infrastructure: dict) -> str:
    """What DNS said, in words; providers with their evidence are listed separately."""
    status, reason = infrastructure["status"], infrastructure["reason"] or "no reason given"
    if status == "resolved":
        if infrastructure["providers"]:
            return ""
        addresses = infrastructure["addresses"]
        return f"Addresses {', '.join(addresses)}: no known provider." if addresses else "The name has no addresses."
    if status == "nxdomain":
        return "The name does not exist in DNS (NXDOMAIN)."
    if status == "unavailable":
        return f"Unknown: DNS could not be asked ({reason})."
    return f"Not checked: {reason}"


# --- views --------------------------------------------------------------------------------

@pages.get("/")
def index():
    dataset = service().dataset
    cases = sorted(dataset.cases.values(), key=case_sort_date, reverse=True)
    entities = sorted(dataset.entities.values(), key=lambda e: e["name"].lower())
    return render_template(
        "index.html", counts=dataset.counts(), loaded_at=dataset.loaded_at,
        cases=cases,
        entities=[{**entity_summary(e), "domains": e.get("domains", []),
                   "case_count": len(dataset.involvements(e["id"]))} for e in entities],
    )


@pages.get("/lookup")
def lookup():
    domain = request.args.get("domain", "")
    if not domain.strip():
        raise InvalidInput("Type a domain or URL to check, for example www.example.com.", field="domain")
    result = service().check(domain)
    return render_template("lookup.html", result=result, domain=domain, verdict_title=VERDICT_TITLES,
                           verdict_text=verdict_words(result),
                           infrastructure_text=infrastructure_words(result["infrastructure"]))


@pages.get("/entities/<entity_id>")
def entity_page(entity_id: str):
    dataset = service().dataset
    entity = dataset.entity(entity_id)
    cases = [case_dict(dataset, inv, None) for inv in dataset.involvements(entity_id)]
    aliases = [{**alias, "sources": sources_with_notes(dataset, alias.get("source_ids", []))}
               for alias in entity.get("aliases", [])]
    related = [(RELATION_PHRASES[relation].capitalize(), other) for relation, other in dataset.related(entity_id)]
    return render_template("entity.html", entity=entity, cases=cases, aliases=aliases, related=related,
                           sources=sources_with_notes(dataset, entity.get("source_ids", [])))


@pages.get("/cases/<case_id>")
def case_page(case_id: str):
    dataset = service().dataset
    case = dataset.case(case_id)
    parties = []
    for party in case.get("parties", []):
        entity = dataset.entities.get(party["entity_id"])
        parties.append({**party, "entity": entity_summary(entity) if entity else None,
                        "sources": sources_with_notes(dataset, party.get("source_ids", []))})
    return render_template("case.html", case=case, parties=parties,
                           sources=sources_with_notes(dataset, case.get("source_ids", [])))


@pages.errorhandler(CaseflagError)
def _error_page(err: CaseflagError):
    """Refused input or an unknown id: the message on a page, with the right status, never a 500."""
    lookup_error = request.endpoint == "pages.lookup"
    return render_template("error.html", error=err, lookup_error=lookup_error,
                           domain=request.args.get("domain", "") if lookup_error else ""), err.status
