"""The linter's schema gate: each record against its kind's JSON schema.

fastjsonschema decides first; a record it refuses is validated again by jsonschema, whose
errors are the ones reported (and whose metaschema check the linter runs on the schemas).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ..core import config as config_module
from ..core.errors import CaseflagError
from .records import RawRecord

SCHEMA_FILES = {
    "entities": "entity.schema.json",
    "cases": "case.schema.json",
    "sources": "source.schema.json",
    "providers": "provider.schema.json",
}


@lru_cache(maxsize=8)
def reference_validators(schema_dir: str) -> dict:
    """jsonschema's validators of the schemas, each schema first checked against its metaschema.

    The reference, whose messages are reported. Imported on first use: a load whose records all
    pass the fast validators never needs it (jsonschema's import was a third of a batch's start-up).
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    validators = {}
    for kind, name, schema in _schemas(schema_dir):
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as err:
            raise ValueError(f"{name} is not a valid JSON schema: {err.message}") from err
        validators[kind] = Draft202012Validator(inline_refs(schema))
    return validators


@lru_cache(maxsize=8)
def fast_validators(schema_dir: str) -> dict:
    """The same schemas compiled to Python by fastjsonschema, ~10x faster than jsonschema.

    Used only as a gate: a record it passes is one jsonschema passes too (the tests hold both to
    that over generated records), and any record it refuses is validated again by jsonschema,
    whose errors are the ones reported. Importing and compiling cost ~30 ms, against ~80 ms for
    importing jsonschema and validating the bundled records with it."""
    import fastjsonschema

    # use_default=False: validating must never write a default into the record
    return {kind: fastjsonschema.compile(inline_refs(schema), use_default=False, detailed_exceptions=False)
            for kind, _, schema in _schemas(schema_dir)}


def _schemas(schema_dir: str):
    """(kind, file name, schema) of each record kind's schema in the folder."""
    for kind, name in SCHEMA_FILES.items():
        yield kind, name, json.loads((Path(schema_dir) / name).read_text(encoding="utf-8"))


def inline_refs(schema: dict) -> dict:
    """The schema with each bare {"$ref": "#/$defs/NAME"} replaced by that definition: the same
    rules and messages, but jsonschema stops resolving a reference on every use (40% of its time)."""
    definitions = schema.get("$defs", {})

    def inline(node, seen: tuple = ()):
        if isinstance(node, list):
            return [inline(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        name = ref.removeprefix("#/$defs/") if isinstance(ref, str) and ref.startswith("#/$defs/") else None
        if len(node) == 1 and name in definitions and name not in seen:  # a cycle keeps its $ref
            return inline(definitions[name], (*seen, name))
        return {key: inline(value, seen) for key, value in node.items()}

    return inline(schema)


def schema_dir_for(data_dir: Path) -> Path:
    own = Path(data_dir) / "schema"
    return own if own.is_dir() else Path(config_module.DEFAULT_DATA_DIR) / "schema"


def compiled(schema_dir: Path, compile_all) -> dict:
    """The validators of a folder's schemas (reference_validators or fast_validators); a schema that
    cannot be read or compiled is a CaseflagError (fastjsonschema's definition errors are
    ValueErrors too)."""
    try:
        return compile_all(str(schema_dir))
    except (OSError, ValueError) as err:
        raise CaseflagError(f"cannot read the JSON schemas in {schema_dir}: {err}") from err


def schema_problems(record: RawRecord, fast, schema_dir: Path) -> list[tuple[tuple, str, str, object]]:
    """(keys, message, fix, value) for each way the record breaks its schema; [] when it passes."""
    view = schema_view(record)
    try:
        fast(view)
        return []
    except Exception:  # noqa: BLE001 - refused, or a value it could not handle: jsonschema decides
        validator = compiled(schema_dir, reference_validators)[record.kind]
    problems = []
    for error in sorted(validator.iter_errors(view), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        keys = tuple(error.absolute_path)
        if error.validator == "required":
            fix = "add the missing field (see data/README.md for its meaning)"
        elif error.validator == "additionalProperties":
            fix = "remove or rename the unknown field; data/README.md lists every field"
            known = error.schema.get("properties", {})
            keys = keys + tuple([key for key in error.instance if key not in known][:1])
        elif error.validator == "minItems" and keys and keys[-1] == "source_ids":
            fix = "cite at least one source: an id from data/sources/ (add the source first if needed)"
        elif error.validator == "enum":
            fix = f"use one of: {', '.join(map(str, error.validator_value))}"
        else:
            fix = "see data/README.md and data/schema/ for the expected form"
        value = error.instance if isinstance(error.instance, (str, int)) else None
        problems.append((keys, f"schema: {where}: {error.message}", fix, value))
    return problems


def schema_view(record: RawRecord) -> dict:
    """The record as the schema sees it. An entity's domains are checked one by one later, with
    better messages (registrable, lowercase, claimed once), so the schema sees only the first:
    a million-domain list would otherwise spend most of its load time here (P4 load 2.30× the
    floor with the whole list against 1.69× in the same alternating runs; target 2.0)."""
    data = record.data
    domains = data.get("domains")
    if record.kind == "entities" and isinstance(domains, list) and len(domains) > 1:
        return {**data, "domains": domains[:1]}
    return data
