"""The OpenAPI 3.1 description of the HTTP API: its operations, and the document around the schemas.

The schemas are openapi_schemas.py's. Record shapes (entity, case, source, provider) are not
restated there: they come from data/schema/, so the document and the linter cannot drift apart; the
answer's shapes come from its model (service/answer.py), so the document and the answers cannot either.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .limits import MAX_JSON_DEPTH, MAX_JSON_KEYS, MAX_LANG_LENGTH
from .openapi_schemas import JSON, STRING, api_components, record_components, ref


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
            "schemas": {**records, **api_components(records)},
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
