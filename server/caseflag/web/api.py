"""Blueprint /api/v1 and /healthz: thin views — parse the request, call the service, return a dict."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, jsonify, request

from ..exports.batchrecords import csv_text
from . import limits, listing
from ..core.errors import InvalidInput, TooLarge
from ..core.messages import languages
from ..exports.extension_index import cached_index
from ..data.lint import schema_dir_for
from ..service.lookup import LookupService
from .openapi import build as build_openapi
from ..service.answer import encode
from ..service.verdict import case_dict, entity_summary, sources_for

api = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)

SUPPORTED_LANGUAGES = languages()


def service() -> LookupService:
    return current_app.extensions["caseflag"]


def _lang() -> str | None:
    return (limits.language(request.args.get("lang"))
            or request.accept_languages.best_match(SUPPORTED_LANGUAGES))


@api.get("/check")
def check_one():
    domain = request.args.get("domain")
    if domain is None:
        raise InvalidInput("Give the host name to check: /api/v1/check?domain=example.com", field="domain")
    fmt = _format()
    result = service().check(domain, lang=_lang())
    return _csv_response([result]) if fmt == "csv" else _json_response(result)


@api.post("/check")
def check_many():
    body = limits.load_json(request.get_data(cache=False)) if request.is_json else None
    if not isinstance(body, dict) or "domains" not in body:
        raise InvalidInput('Send a JSON object: {"domains": ["example.com", ...]}', field="domains")
    domains = body["domains"]
    if not isinstance(domains, list) or not all(isinstance(item, str) for item in domains):
        raise InvalidInput("domains must be a list of strings", field="domains")
    limit = current_app.config["MAX_BATCH"]
    if len(domains) > limit:
        raise TooLarge(f"{len(domains)} domains sent; at most {limit} per request", field="domains")
    fmt = _format()
    results = service().check_many(domains, lang=_lang())
    if fmt == "csv":
        return _csv_response(results)
    return _json_response({"results": results, "count": len(results), "dataset_version": service().dataset.version})


@api.get("/entities")
def list_entities():
    """Filtered by jurisdiction, type (kind), status and year (of its cases); paged by limit and offset."""
    dataset = service().dataset
    ordered = sorted(dataset.entities.values(), key=lambda e: e["name"].lower())
    chosen = listing.page(ordered, lambda entity: listing.entity_facts(dataset, entity), request.args,
                          "/api/v1/entities")
    items = [{**entity_summary(entity), "domains": entity.get("domains", []),
              "cases": [inv.case["id"] for inv in dataset.involvements(entity["id"])]}
             for entity in chosen.pop("items")]
    return {"entities": items, "count": len(items), **chosen, "dataset_version": dataset.version}


@api.get("/entities/<entity_id>")
def get_entity(entity_id: str):
    dataset = service().dataset
    entity = dataset.entity(entity_id)
    lang = _lang()
    return {
        **entity,
        "sources": sources_for(dataset, entity.get("source_ids", []), lang),
        "cases": [case_dict(dataset, inv, lang) for inv in dataset.involvements(entity_id)],
        "dataset_version": dataset.version,
    }


@api.get("/cases")
def list_cases():
    """Filtered by jurisdiction, type, status and year (of any of its dates); paged by limit and offset."""
    dataset = service().dataset
    ordered = sorted(dataset.cases.values(), key=lambda c: c["title"].lower())
    chosen = listing.page(ordered, listing.case_facts, request.args, "/api/v1/cases")
    items = [{key: case.get(key) for key in ("id", "title", "type", "status", "jurisdiction", "court", "docket", "dates")}
             for case in chosen.pop("items")]
    return {"cases": items, "count": len(items), **chosen, "dataset_version": dataset.version}


@api.before_request
def _known_params():
    listing.check_params(request.endpoint, request.args.keys())


@api.get("/cases/<case_id>")
def get_case(case_id: str):
    dataset = service().dataset
    case = dataset.case(case_id)
    lang = _lang()
    parties = []
    for party in case.get("parties", []):
        entity = dataset.entities.get(party["entity_id"], {"id": party["entity_id"], "name": party["entity_id"], "kind": "unknown"})
        parties.append({**party, "entity": entity_summary(entity),
                        "sources": sources_for(dataset, party.get("source_ids", []), lang)})
    return {**case, "parties": parties, "sources": sources_for(dataset, case.get("source_ids", []), lang),
            "dataset_version": dataset.version}


@api.get("/providers")
def list_providers():
    dataset = service().dataset
    items = list(dataset.providers.values())
    return {"providers": items, "count": len(items), "dataset_version": dataset.version}


@health.get("/healthz")
def healthz():
    """The service's state: `degraded` (still 200: it answers) with each problem named while the
    list on disk is broken (the last good one is served) or DNS lookups are paused."""
    svc = service()
    dataset = svc.dataset
    guard = svc.guard.state() if svc.guard else None
    no_resolver = svc.dns_enabled and svc.resolver.unavailable_reason
    problems = [problem for problem in (svc.store.last_error, guard and guard["problem"], no_resolver) if problem]
    return jsonify({
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "dataset_version": dataset.version,
        "dataset_loaded_at": dataset.loaded_at,
        "counts": dataset.counts(),
        "dns": {"enabled": svc.dns_enabled, "problem": svc.resolver.unavailable_reason, "guard": guard},
        "cache": svc.cache.stats(),
        "reload_error": svc.store.last_error,
    })


# --- for researchers: CSV, the dataset's description, the OpenAPI document, HTTP caching ---------

DATA_LICENCE = "CC BY 4.0"
DATA_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
# Answers that change only when the dataset does: ETag is its version, revalidated with If-None-Match.
DATASET_ENDPOINTS = frozenset({"api.list_entities", "api.get_entity", "api.list_cases", "api.get_case",
                               "api.list_providers", "api.dataset_info"})
# Their sources are ordered by the preferred language, so each language is its own representation.
LANGUAGE_ENDPOINTS = frozenset({"api.get_entity", "api.get_case"})


def _format() -> str:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InvalidInput("format must be json or csv", field="format")
    return fmt


def _json_response(body: dict) -> Response:
    """Answers as JSON, encoded by answer.encode as the CLI and the batch encode them."""
    return Response(encode(body), mimetype="application/json")


def _csv_response(results: list[dict]) -> Response:
    """The CLI's batch CSV columns, one row per result (line = position in the request, from 1)."""
    return Response(csv_text(results), mimetype="text/csv",
                    headers={"Content-Disposition": 'inline; filename="caseflag-check.csv"'})


@api.get("/dataset")
def dataset_info():
    dataset = service().dataset
    return {
        "version": dataset.version,
        "generated_at": dataset.loaded_at,
        "counts": dataset.counts(),
        "licence": DATA_LICENCE,
        "licence_url": DATA_LICENCE_URL,
        "links": {"entities": "/api/v1/entities", "cases": "/api/v1/cases", "providers": "/api/v1/providers",
                  "openapi": "/api/v1/openapi.json"},
    }


@api.get("/dataset/index")
def dataset_index():
    """The extension's built-in index for the dataset being served (see extension_index.py)."""
    body, etag = cached_index(service().dataset)
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)  # strong: a hash of these very bytes
    # An extension revalidates at most every five minutes; an unchanged index costs a 304.
    response.headers["Cache-Control"] = "public, max-age=300"
    return response.make_conditional(request)


@api.get("/openapi.json")
def openapi_document():
    return build_openapi(schema_dir_for(service().dataset.data_dir))


def _etag() -> str:
    version = service().dataset.version
    if request.endpoint in LANGUAGE_ENDPOINTS:
        primary = (_lang() or "").split("-")[0].lower()
        # Only a plausible language subtag can reorder the sources; anything else reads as no language.
        if re.fullmatch(r"[a-z]{2,3}", primary):
            return f"{version}-{primary}"
    return version


@api.after_request
def _dataset_caching(response: Response) -> Response:
    if request.endpoint not in DATASET_ENDPOINTS or response.status_code != 200:
        return response
    response.set_etag(_etag())
    response.headers["Cache-Control"] = "public, max-age=300"
    if request.endpoint in LANGUAGE_ENDPOINTS:
        response.vary.add("Accept-Language")
    return response.make_conditional(request)
