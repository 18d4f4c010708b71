"""The OpenAPI 3.1 description of the HTTP API, built from code and from the data's own JSON Schemas.

Record shapes (entity, case, source, provider) are not restated here: they come from
data/schema/, so the document and the linter cannot drift apart; the answer's shapes come from
its model (service/answer.py), so the document and the answers cannot either.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import msgspec

from .limits import MAX_JSON_DEPTH, MAX_JSON_KEYS, MAX_LANG_LENGTH
from ..data.lint import SCHEMA_FILES
from ..core.messages import DEFAULT_LANGUAGE, catalogues
from ..service.answer import Answer
from ..service.verdict import BADGE_COLORS, RELATION_PHRASES, ROLE_ORDER

RECORD_COMPONENTS = {"entities": "Entity", "cases": "Case", "sources": "Source", "providers": "Provider"}
NULLABLE_STRING = {"type": ["string", "null"]}
STRING, INTEGER = {"type": "string"}, {"type": "integer"}
DATASET_VERSION = {"type": "string", "description": "The dataset version (a hash of every record file)."}
JSON = "application/json"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def obj(required: dict, optional: dict | None = None) -> dict:
    """A closed object schema: every key of `required` must be present, and no key but these."""
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})},
            "additionalProperties": False}


def _rewrite_refs(node, target):
    """The schema with each "$ref" given by target(ref)."""
    if isinstance(node, dict):
        return {key: target(value) if key == "$ref" else _rewrite_refs(value, target) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(item, target) for item in node]
    return node


def _record_ref(prefix: str):
    """Point a record schema's local '#/$defs/x' references at its components."""
    return lambda value: (f"#/components/schemas/{prefix}.{value.split('/')[-1]}"
                          if value.startswith("#/$defs/") else value)


def record_components(schema_dir: Path) -> dict[str, dict]:
    """The data's JSON Schemas as OpenAPI components: Entity, Case, … and their $defs as Entity.id etc."""
    components = {}
    for kind, name in RECORD_COMPONENTS.items():
        raw = json.loads((schema_dir / SCHEMA_FILES[kind]).read_text(encoding="utf-8"))
        raw.pop("$schema", None)
        raw.pop("$id", None)
        for key, definition in raw.pop("$defs", {}).items():
            components[f"{name}.{key}"] = _rewrite_refs(definition, _record_ref(name))
        components[name] = _rewrite_refs(raw, _record_ref(name))
    return components


def _extend(base: dict, properties: dict, title: str) -> dict:
    """A record schema with extra (required) keys the API adds to it."""
    schema = copy.deepcopy(base)
    schema["title"] = title
    schema.pop("description", None)
    schema["properties"] = {**schema["properties"], **properties}
    schema["required"] = list(dict.fromkeys([*schema.get("required", []), *properties]))
    return schema


def case_prop(key: str) -> dict:
    """The case record's own schema for one field (type, status, dates)."""
    return {"$ref": f"#/components/schemas/Case/properties/{key}"}


# The answer's objects are generated from its model (service/answer.py), under the names this
# document has always given them; a field that is a record's own is described by the record's schema.
ANSWER_NAMES = {"Answer": "CheckResult", "InfrastructureReport": "Infrastructure"}
RECORD_FIELDS = {
    "SourceRef": {"id": ref("Source.id"), "kind": {"$ref": "#/components/schemas/Source/properties/kind"}},
    "CaseInvolvement": {"id": ref("Case.id"), "type": case_prop("type"), "status": case_prop("status"),
                        "dates": case_prop("dates")},
    "EntitySummary": {"id": ref("Entity.id")},
    "RelatedEntity": {"id": ref("Entity.id")},
    "ProviderEntry": {"id": ref("Provider.id"), "entity_id": ref("Entity.id")},
}


def _answer_ref(value: str) -> str:
    name = value.rsplit("/", 1)[-1]
    return ref(ANSWER_NAMES.get(name, name))["$ref"]


def answer_components() -> dict[str, dict]:
    """The answer model's JSON Schemas (msgspec writes them), closed to other keys."""
    _, generated = msgspec.json.schema_components([Answer], ref_template="#/components/schemas/{name}")
    del generated["CaseDates"]  # the case record's own `dates` (RECORD_FIELDS)
    components = {}
    for name, schema in generated.items():
        del schema["title"]
        schema["additionalProperties"] = False
        schema = _rewrite_refs(schema, _answer_ref)
        schema["properties"].update(RECORD_FIELDS.get(name, {}))
        components[ANSWER_NAMES.get(name, name)] = schema
    codes = sorted(code for code in catalogues()[DEFAULT_LANGUAGE] if "." not in code and not code.startswith("_"))
    components["Explanation"]["properties"]["code"] = {"enum": codes}
    return components


def _list_of(key: str, items: dict, page: dict | None = None) -> dict:
    """A list answer: the items, their count and the dataset version (and, for `page`, where it is)."""
    return obj({key: array(items), "count": INTEGER, "dataset_version": DATASET_VERSION}, page)


def _api_components(records: dict[str, dict]) -> dict[str, dict]:
    answer = answer_components()
    sources = array(ref("SourceRef"))
    return {
        "ErrorBody": obj({"code": STRING, "message": STRING}, {
            "field": STRING, "explanation": obj({"code": STRING, "params": {"type": "object"}})}),
        "Error": obj({"error": ref("ErrorBody")}),
        **answer,
        "CheckItemError": obj({"query": STRING, "error": ref("ErrorBody"), "status": INTEGER}),
        "CheckRequest": {"type": "object", "required": ["domains"], "properties": {
            "domains": {**array(STRING), "description": "Host names or URLs; at most MAX_BATCH (1000)."}}},
        "CheckResults": _list_of("results", {"oneOf": [ref("CheckResult"), ref("CheckItemError")]}),
        "EntityList": _list_of("entities", _extend(answer["EntitySummary"], {
            "domains": array(STRING), "cases": array(ref("Case.id"))}, "EntityListItem"), _PAGE),
        "EntityDetail": _extend(records["Entity"], {
            "sources": sources, "cases": array(ref("CaseInvolvement")), "dataset_version": DATASET_VERSION},
            "EntityDetail"),
        "CaseList": _list_of("cases", obj({
            "id": ref("Case.id"), "title": STRING, "type": case_prop("type"), "status": case_prop("status"),
            "jurisdiction": NULLABLE_STRING, "court": NULLABLE_STRING, "docket": NULLABLE_STRING,
            "dates": case_prop("dates")}), _PAGE),
        "Party": _extend(records["Case.party"], {"entity": ref("EntitySummary"), "sources": sources},
                         "Party"),
        "CaseDetail": _extend(records["Case"], {"parties": array(ref("Party")), "sources": sources,
                                                "dataset_version": DATASET_VERSION}, "CaseDetail"),
        "ProviderList": _list_of("providers", ref("Provider")),
        "Counts": obj({key: {"type": "integer", "minimum": 0}
                       for key in ("entities", "cases", "sources", "providers", "domains")}),
        "ExtensionIndex": extension_index_schema(),
        "DatasetInfo": obj({
            "version": DATASET_VERSION,
            "generated_at": {"type": "string", "format": "date-time",
                             "description": "When the server loaded this dataset."},
            "counts": ref("Counts"),
            "licence": {"type": "string", "description": "The data's licence (CC BY 4.0)."},
            "licence_url": {"type": "string", "format": "uri"},
            "links": {"type": "object", "additionalProperties": STRING},
        }),
        "Health": obj({
            "status": {"enum": ["ok", "degraded"], "description": "degraded: still answering; `problems` say why."},
            "problems": array(STRING), "dataset_version": DATASET_VERSION,
            "dataset_loaded_at": {"type": "string", "format": "date-time"}, "counts": ref("Counts"),
            "dns": obj({"enabled": {"type": "boolean"}, "problem": NULLABLE_STRING}, {"guard": obj({
                "circuit": {"enum": ["closed", "open", "half_open"]}, "problem": NULLABLE_STRING,
                "slots": INTEGER, "waiting": INTEGER, "refused": INTEGER})}),
            "cache": obj({key: INTEGER for key in ("size", "max_size", "hits", "misses")}),
            "reload_error": NULLABLE_STRING,
        }),
    }


def extension_index_schema() -> dict:
    """The shape of extension_index.build_index (format 2): what the server answers for each entity's
    sites with DNS off, precomputed, and what the browser needs to find a host's registrable domain."""
    strings = array(STRING)
    role = {"enum": list(ROLE_ORDER)}
    involvement = {"type": "array", "prefixItems": [ref("Case.id"), role, strings], "minItems": 3, "maxItems": 3}

    def by_language(schema: dict) -> dict:
        """{en: …, de?: …}: other languages only where they differ from English."""
        return {"type": "object", "required": [DEFAULT_LANGUAGE], "additionalProperties": schema}

    related = obj({"id": ref("Entity.id"), "name": STRING, "relation": {"enum": list(RELATION_PHRASES)},
                   "domains": strings, "role": {"anyOf": [role, {"type": "null"}]}, "cases": array(involvement)})
    entry = obj({"entity": by_language(ref("EntitySummary")), "role": {"anyOf": [role, {"type": "null"}]},
                 "aliases": array(obj({"domain": STRING, "relation": STRING})),
                 "cases": array(involvement), "related": array(related)})
    entity = obj({"id": ref("Entity.id"), "domains": strings, "level": {"enum": list(BADGE_COLORS)},
                  "explanations": {**by_language(array(ref("Explanation"))),
                                   "description": "What the list says of the entity's sites; the first item's "
                                                  "domain and relation are the host's."},
                  "entry": entry})
    case = by_language(obj({"id": ref("Case.id"), "title": STRING, "type": case_prop("type"),
                            "date": NULLABLE_STRING, "status": case_prop("status"), "jurisdiction": NULLABLE_STRING},
                           {"court": STRING, "docket": STRING}))
    source = obj({"publisher": STRING, "title": STRING, "date": NULLABLE_STRING, "language": STRING,
                  "kind": {"$ref": "#/components/schemas/Source/properties/kind"}},
                 {"url": {"type": "string", "format": "uri"}})
    provider = obj({"id": ref("Provider.id"), "name": STRING, "short_label": STRING,
                    "entity_id": ref("Entity.id"), "ipv4": strings, "ipv6": strings,
                    "header_patterns": array(obj({"name": STRING}, {"value": STRING})),
                    "explanations": {"anyOf": [by_language(array(ref("Explanation"))), {"type": "null"}]}})
    skipped = by_language(obj({"infrastructure": ref("Infrastructure"), "explanation": ref("Explanation"),
                               "reason": STRING}))
    return obj({
        "format": {"const": 2, "description": "The index's schema version; a reader refuses one it does not know."},
        "version": {"type": "string", "description": "The dataset version, as /api/v1/dataset gives it."},
        "date": {"type": "string", "description": "The newest date in the records (YYYY-MM-DD): a newer index "
                                                  "has a date no older."},
        "registrable_only": {"type": "boolean"},
        "messages": {"type": "object", "description": "The message catalogue by language.",
                     "additionalProperties": {"type": "object", "additionalProperties": STRING}},
        "badges": {"type": "object", "additionalProperties": obj({"text": STRING, "color": STRING})},
        "entities": array(entity),
        "cases": {"type": "object", "additionalProperties": case},
        "sources": {"type": "object", "additionalProperties": source},
        "providers": array(provider),
        "skipped": {"type": "object", "additionalProperties": skipped},
        "public_suffixes": obj({"icann": strings, "private": strings}),
        "special_use": obj({"suffixes": {"type": "object", "additionalProperties": STRING},
                            "never_resolved": strings}),
        "not_global": obj({"ipv4": strings, "ipv6": strings}),
    })


# --- operations -----------------------------------------------------------------------------

def _error(description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


def _ok(schema_name: str, description: str, *, csv: bool = False, cached: bool = False) -> dict:
    content = {JSON: {"schema": ref(schema_name)}}
    if csv:
        content["text/csv"] = {"schema": STRING}
        description += (" With format=csv: a header and one row per input, columns input, hostname, "
                        "registrable_domain, level, entities, providers, cases, infrastructure_status, reason, "
                        "line, error (lists joined with ';').")
    response = {"description": description, "content": content}
    if cached:
        response["headers"] = {"ETag": {"$ref": "#/components/headers/ETag"},
                               "Cache-Control": {"$ref": "#/components/headers/CacheControl"}}
    return response


_LANG = {"name": "lang", "in": "query", "required": False,
         "description": "The answer's language, e.g. de: reasons, error messages, descriptions, case titles, "
                        "summaries and outcomes in it where the catalogue and the records have it (en and de), "
                        "English otherwise; sources in it are listed first. Without it, Accept-Language decides. "
                        "The answer's top-level `language` says which language it is in.",
         "schema": {"type": "string", "maxLength": MAX_LANG_LENGTH,
                    "pattern": "^([A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)?$"}}
_FORMAT = {"name": "format", "in": "query", "required": False, "description": "json (default) or csv.",
           "schema": {"enum": ["json", "csv"]}}
_IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False,
                  "description": "An ETag from an earlier answer; 304 when the dataset has not changed since.",
                  "schema": STRING}
_NOT_MODIFIED = {"description": "Not modified: the dataset version is still the one in If-None-Match.",
                 "headers": {"ETag": {"$ref": "#/components/headers/ETag"},
                             "Cache-Control": {"$ref": "#/components/headers/CacheControl"}}}
_BAD_DOMAIN = _error("The input cannot be a host name (invalid_domain) or the request is malformed (invalid_input).")
_NOT_PUBLIC = _error("Not a public name: a special-use or locally served name (localhost, .local, .test, "
                     "example.com, home.arpa, an unlisted .onion, ...), a bare public suffix, a private or reserved "
                     "address. Such names are never sent to DNS.")


# A list's page: the matches in all, the page asked for, and the address of the next one.
_PAGE = {"total": {"type": "integer", "minimum": 0}, "limit": {"type": "integer", "minimum": 1},
         "offset": {"type": "integer", "minimum": 0}, "next": STRING}


def _filters(what: str) -> list[dict]:
    """The list filters and the page parameters (listing.py)."""
    kind, of_cases = (" (kind)", " (of one of its cases)") if what == "entity" else ("", "")
    described = {"jurisdiction": "Country code (or EU), e.g. SE.", "type": f"The {what}'s type{kind}.",
                 "status": f"The {what}'s status.",
                 "year": f"Four digits: a year of the case's dates{of_cases}.", "limit": None, "offset": None}
    schemas = {"year": {"type": "string", "pattern": "^[0-9]{4}$"},
               "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
               "offset": {"type": "integer", "minimum": 0, "maximum": 1000000000}}
    return [{"name": name, "in": "query", "required": False, **({"description": text} if text else {}),
             "schema": schemas.get(name, STRING)} for name, text in described.items()]


def _dataset_get(summary: str, schema_name: str, params: list | None = None, not_found: bool = False) -> dict:
    responses = {"200": _ok(schema_name, summary, cached=True), "304": _NOT_MODIFIED}
    if not_found:
        responses["400"] = _error("A parameter is invalid (lang is not a language tag).")
        responses["404"] = _error("No record with that id.")
    return {"get": {"summary": summary, "tags": ["dataset"], "parameters": [*(params or []), _IF_NONE_MATCH],
                    "responses": responses}}


def _path_id(name: str, component: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": STRING,
            "description": f"The record id, as in /api/v1/{component}."}


OPERATION_IDS = {("/api/v1/check", "get"): "checkOne", ("/api/v1/check", "post"): "checkMany",
                 ("/api/v1/entities", "get"): "listEntities", ("/api/v1/entities/{entity_id}", "get"): "getEntity",
                 ("/api/v1/cases", "get"): "listCases", ("/api/v1/cases/{case_id}", "get"): "getCase",
                 ("/api/v1/providers", "get"): "listProviders", ("/api/v1/dataset", "get"): "getDataset",
                 ("/api/v1/dataset/index", "get"): "getDatasetIndex", ("/api/v1/openapi.json", "get"): "getOpenApi",
                 ("/healthz", "get"): "getHealth"}


def _rate_limited(path: str, operations: dict) -> dict:
    """Every /api/v1 operation may answer 429 (per-client limit; /healthz is exempt) and 400 (an
    unknown or invalid query parameter), and has an operationId."""
    for method, operation in operations.items():
        operation["operationId"] = OPERATION_IDS[(path, method)]
        operation["responses"]["429"] = _error("Too many requests from this client; wait for Retry-After seconds.")
        operation["responses"].setdefault("400", _error("An unknown or invalid query parameter."))
    return operations


def paths() -> dict:
    api = {
        "/api/v1/check": {
            "get": {
                "summary": "The verdict for one host name or URL (only the host is used).",
                "tags": ["check"],
                "parameters": [{"name": "domain", "in": "query", "required": True, "schema": STRING,
                                "description": "A host name or URL, e.g. www.thepiratebay.org"}, _LANG, _FORMAT],
                "responses": {"200": _ok("CheckResult", "The verdict with its evidence.", csv=True),
                              "400": _BAD_DOMAIN, "422": _NOT_PUBLIC},
            },
            "post": {
                "summary": "Verdicts for up to 1000 inputs; results in input order, each error inline.",
                "tags": ["check"],
                "parameters": [_LANG, _FORMAT],
                "requestBody": {"required": True, "content": {JSON: {"schema": ref("CheckRequest")}}},
                "responses": {"200": _ok("CheckResults", "One result per input, in order.", csv=True),
                              "400": _error("The body is not {\"domains\": [strings]} in UTF-8 JSON, nests "
                                            f"deeper than {MAX_JSON_DEPTH} levels, or a parameter is invalid."),
                              "408": _error("The body stopped arriving before it was whole."),
                              "413": _error(f"Too many domains, more than {MAX_JSON_KEYS} object keys, or too "
                                            "large a body."),
                              "503": _error("Every slot for a body still arriving is taken; send again.")},
            },
        },
        "/api/v1/entities": _dataset_get("The listed sites, companies, organisations and people, filtered and "
                                         "paged.", "EntityList", _filters("entity")),
        "/api/v1/entities/{entity_id}": _dataset_get("One entity with its cases and sources.", "EntityDetail",
                                                     [_path_id("entity_id", "entities"), _LANG], not_found=True),
        "/api/v1/cases": _dataset_get("The cases, filtered and paged.", "CaseList", _filters("case")),
        "/api/v1/cases/{case_id}": _dataset_get("One case with its parties and sources.", "CaseDetail",
                                                [_path_id("case_id", "cases"), _LANG], not_found=True),
        "/api/v1/providers": _dataset_get("Infrastructure providers with their ranges and patterns.", "ProviderList"),
        "/api/v1/dataset": _dataset_get("The dataset's version, record counts, licence and load time.", "DatasetInfo"),
        "/api/v1/dataset/index": {"get": {
            "summary": "The browser extension's built-in index of this dataset: every listed domain and alias, the "
                       "entities with their cases and sources, provider ranges and patterns, the public suffix "
                       "rules and the special-use names. The same as `caseflag data export --format extension`.",
            "tags": ["dataset"], "parameters": [_IF_NONE_MATCH],
            "responses": {"200": {"description": "The index. ETag is a hash of the body.",
                                  "content": {JSON: {"schema": ref("ExtensionIndex")}},
                                  "headers": {"ETag": {"$ref": "#/components/headers/ContentETag"},
                                              "Cache-Control": {"$ref": "#/components/headers/CacheControl"}}},
                          "304": {"description": "Not modified: the index is still the one in If-None-Match.",
                                  "headers": {"ETag": {"$ref": "#/components/headers/ContentETag"},
                                              "Cache-Control": {"$ref": "#/components/headers/CacheControl"}}}}}},
        "/api/v1/openapi.json": {"get": {"summary": "This document.", "tags": ["meta"], "responses": {
            "200": {"description": "The OpenAPI 3.1 document.", "content": {JSON: {"schema": {"type": "object"}}}}}}},
    }
    return {
        **{path: _rate_limited(path, operations) for path, operations in api.items()},
        "/healthz": {"get": {"summary": "Status, dataset version and counts.", "tags": ["meta"], "operationId": "getHealth",
                             "responses": {"200": _ok("Health", "The server is up.")}}},
    }


def _package_version() -> str:
    try:
        return version("caseflag")
    except PackageNotFoundError:
        return "0"


@lru_cache(maxsize=4)
def _document(schema_dir: str) -> str:
    records = record_components(Path(schema_dir))
    document = {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "caseflag",
            "version": _package_version(),
            "summary": "Is a website tied to a known copyright-enforcement case? The verdict and its evidence.",
            "description": "Every error has one shape, {\"error\": {\"code\", \"message\", \"field\"?}}. "
                           "Dataset endpoints send ETag (the dataset version) and answer If-None-Match with 304. "
                           "The data is licensed CC BY 4.0.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "paths": paths(),
        "components": {
            "schemas": {**records, **_api_components(records)},
            "headers": {
                "ETag": {"description": "The dataset version, quoted.", "schema": {"type": "string"}},
                "CacheControl": {"description": "public, max-age=300", "schema": {"type": "string"}},
                "ContentETag": {"description": "A hash of the body, quoted (a strong validator).",
                                "schema": {"type": "string"}},
            },
        },
    }
    return json.dumps(document, ensure_ascii=False)


def build(schema_dir: str | Path) -> dict:
    """The OpenAPI document for an app whose data schemas live in schema_dir (a fresh copy each call)."""
    return json.loads(_document(str(schema_dir)))
