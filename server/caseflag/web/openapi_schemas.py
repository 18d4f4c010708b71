"""The OpenAPI document's schemas: records from the data's own JSON Schemas (data/schema/), the
answer from its model (service/answer.py), and the API's other shapes and the extension's index."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import msgspec

from ..data.lint import SCHEMA_FILES
from ..core.messages import DEFAULT_LANGUAGE, catalogues
from ..service.answer import Answer
from ..service.verdict import BADGE_COLORS, RELATION_PHRASES, ROLE_ORDER

RECORD_COMPONENTS = {"entities": "Entity", "cases": "Case", "sources": "Source", "providers": "Provider"}
NULLABLE_STRING = {"type": ["string", "null"]}
STRING, INTEGER = {"type": "string"}, {"type": "integer"}
DATASET_VERSION = {"type": "string", "description": "The dataset version (a hash of every record file)."}
JSON = "application/json"
_PAGE = {"total": {"type": "integer", "minimum": 0}, "limit": {"type": "integer", "minimum": 1},
         "offset": {"type": "integer", "minimum": 0}, "next": STRING}


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


def api_components(records: dict[str, dict]) -> dict[str, dict]:
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
