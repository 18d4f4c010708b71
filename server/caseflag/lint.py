"""The data linter: every rule the curated list must keep, with file and line for each failure.

`caseflag data lint` prints each problem as `path:line: what is wrong — how to fix it`.
The dataset loader runs the same checks and refuses data with a fatal problem, so what
the linter passes is exactly what the server can serve.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress, islice, repeat
from operator import lt
from pathlib import Path
from urllib.parse import urlsplit

from . import config as config_module
from .domains import default_suffix_list
from .domains import parse as parse_hostname
from .errors import CaseflagError
from .records import KINDS, RawRecord, read_all

SCHEMA_FILES = {
    "entities": "entity.schema.json",
    "cases": "case.schema.json",
    "sources": "source.schema.json",
    "providers": "provider.schema.json",
}
# Entity fields that name another entity (dataset.RELATION_FIELDS says what each relation means).
ENTITY_LINKS = ("successor_of", "predecessor_of", "mirror_of", "operated_by")
# English text a person reads, per kind: each needs its German text in the record's [de] table
# (the same field name); a case's title may stay English (a court's caption is not translated).
GERMAN_FIELDS = {"entities": ("description",), "cases": ("summary", "outcome")}
GERMAN_OPTIONAL = {"cases": ("title",)}
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str
    fix: str
    # Fatal problems make the data unservable; the others are review rules.
    fatal: bool = True

    def format(self, relative_to: Path | None = None) -> str:
        path = self.path
        if relative_to is not None:
            try:
                path = path.resolve().relative_to(relative_to.resolve())
            except ValueError:
                pass
        return f"{path}:{self.line}: {self.message} — {self.fix}"


def locate(text: str, keys: tuple = (), value: object = None) -> int:
    """Best line number for a value inside a TOML record, found by following its key path."""
    lines = text.splitlines()
    start = 0
    keys = tuple(keys)
    for position, key in enumerate(keys):
        if not isinstance(key, str):
            continue
        following = keys[position + 1] if position + 1 < len(keys) else None
        if isinstance(following, int):
            header = re.compile(rf"^\s*\[\[\s*{re.escape(key)}\s*\]\]")
            seen = -1
            for number in range(start, len(lines)):
                if header.match(lines[number]):
                    seen += 1
                    if seen == following:
                        start = number
                        break
            else:
                pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
                start = next((n for n in range(start, len(lines)) if pattern.match(lines[n])), start)
            continue
        pattern = re.compile(rf"^\s*(\"?{re.escape(key)}\"?\s*=|\[\s*{re.escape(key)}\s*\])")
        for number in range(start, len(lines)):
            if pattern.match(lines[number]):
                start = number
                break
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        needle = f'"{value}"' if isinstance(value, str) else str(value)
        for number in range(start, len(lines)):
            if needle in lines[number]:
                return number + 1
    return start + 1 if lines else 1


@lru_cache(maxsize=8)
def _validators(schema_dir: str) -> dict:
    """jsonschema's validators of the schemas, each schema first checked against its metaschema.

    The reference, whose messages are reported. Imported on first use: a load whose records all
    pass the fast validators never needs it (jsonschema's import was a third of a batch's start-up).
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    validators = {}
    for kind, name in SCHEMA_FILES.items():
        path = Path(schema_dir) / name
        schema = json.loads(path.read_text(encoding="utf-8"))
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as err:
            raise ValueError(f"{name} is not a valid JSON schema: {err.message}") from err
        validators[kind] = Draft202012Validator(inline_refs(schema))
    return validators


@lru_cache(maxsize=8)
def _fast_validators(schema_dir: str) -> dict:
    """The same schemas compiled to Python by fastjsonschema, ~10x faster than jsonschema.

    Used only as a gate: a record it passes is one jsonschema passes too (the tests hold both to
    that over generated records), and any record it refuses is validated again by jsonschema,
    whose errors are the ones reported. Importing and compiling cost ~30 ms, against ~80 ms for
    importing jsonschema and validating the bundled records with it."""
    import fastjsonschema

    compiled = {}
    for kind, name in SCHEMA_FILES.items():
        schema = inline_refs(json.loads((Path(schema_dir) / name).read_text(encoding="utf-8")))
        # use_default=False: validating must never write a default into the record
        compiled[kind] = fastjsonschema.compile(schema, use_default=False, detailed_exceptions=False)
    return compiled



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
    if own.is_dir():
        return own
    return Path(config_module.DEFAULT_DATA_DIR) / "schema"


class Checker:
    """Runs every rule over a set of records; collect problems with .run()."""

    def __init__(self, records: list[RawRecord], schema_dir: Path, today: dt.date | None = None,
                 strict_schemas: bool = False):
        self.records = records
        # strict: the schemas themselves checked against their metaschema before any record (the
        # linter); a load only needs them to compile, and imports jsonschema for a refused record.
        self.strict_schemas = strict_schemas
        self.schema_dir = schema_dir
        self.today = today or dt.date.today()
        self.problems: list[Problem] = []
        self.domain_index: dict[str, tuple] = {}  # filled by the domain claim check (see check_and_index)
        self.ids: dict[str, dict[str, RawRecord]] = {kind: {} for kind in KINDS}
        self._suffixes = default_suffix_list()

    def report(self, record: RawRecord, keys: tuple, message: str, fix: str, *, value=None, fatal=True):
        line = locate(record.text, keys, value)
        self.problems.append(Problem(record.path, line, message, fix, fatal))

    def run(self) -> list[Problem]:
        if self.strict_schemas:
            self._schemas(_validators)
        fast = self._schemas(_fast_validators)
        valid: list[RawRecord] = []
        for record in self.records:
            if record.data is None:
                self.problems.append(
                    Problem(record.path, record.error_line or 1, record.error or "unreadable",
                            "fix the syntax so the file parses as TOML")
                )
                continue
            if self._check_schema(record, fast[record.kind]):
                valid.append(record)
        for record in valid:
            self._check_id(record)
        for record in valid:
            self._check_references(record)
            self._check_dates(record)
            self._check_sorted(record)
            self._check_sources_given(record)
            self._check_german(record)
            if record.kind == "sources":
                self._check_url(record, ("url",), record.data.get("url"))
                if "url" not in record.data and not record.data.get("note"):
                    self.report(record, ("id",), "a source without a url has no note",
                                "add a note saying why the address is not known", fatal=False)
            if record.kind == "providers":
                source = record.data.get("ranges_source") or {}
                self._check_url(record, ("ranges_source", "url"), source.get("url"))
                self._check_ranges(record)
        self._check_domains([r for r in valid if r.kind == "entities"])
        return sorted(self.problems, key=lambda p: (str(p.path), p.line, p.message))

    def _schemas(self, compile_all) -> dict:
        """The validators of this folder's schemas (_validators or _fast_validators); a schema that
        cannot be read or compiled is a CaseflagError (fastjsonschema's definition errors are
        ValueErrors too)."""
        try:
            return compile_all(str(self.schema_dir))
        except (OSError, ValueError) as err:
            raise CaseflagError(f"cannot read the JSON schemas in {self.schema_dir}: {err}") from err

    def _check_schema(self, record: RawRecord, fast) -> bool:
        view = _schema_view(record)
        try:
            fast(view)
            return True
        except Exception:  # noqa: BLE001 - refused, or a value it could not handle: jsonschema decides
            pass
        validator = self._schemas(_validators)[record.kind]
        errors = sorted(validator.iter_errors(view), key=lambda e: list(e.absolute_path))
        for error in errors:
            where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
            keys = tuple(error.absolute_path)
            if error.validator == "required":
                fix = "add the missing field (see data/README.md for its meaning)"
            elif error.validator == "additionalProperties":
                fix = "remove or rename the unknown field; data/README.md lists every field"
                known = error.schema.get("properties", {})
                extras = [key for key in error.instance if key not in known]
                keys = keys + tuple(extras[:1])
            elif error.validator == "minItems" and keys and keys[-1] == "source_ids":
                fix = "cite at least one source: an id from data/sources/ (add the source first if needed)"
            elif error.validator == "enum":
                fix = f"use one of: {', '.join(map(str, error.validator_value))}"
            else:
                fix = "see data/README.md and data/schema/ for the expected form"
            self.report(record, keys, f"schema: {where}: {error.message}", fix,
                        value=error.instance if isinstance(error.instance, (str, int)) else None)
        return not errors

    def _check_id(self, record: RawRecord) -> None:
        record_id = record.data["id"]
        if record_id != record.stem:
            self.report(record, ("id",), f"id {record_id!r} does not match the file name {record.path.name!r}",
                        f"rename the file to {record_id}.toml or set id = \"{record.stem}\"")
        if record_id in self.ids[record.kind]:
            other = self.ids[record.kind][record_id]
            self.report(record, ("id",), f"id {record_id!r} is also used by {other.path.name}",
                        "give each record its own id")
        else:
            self.ids[record.kind][record_id] = record

    def _require(self, record: RawRecord, keys: tuple, kind: str, ref: str) -> None:
        if ref not in self.ids[kind]:
            singular = kind[:-1] if kind != "entities" else "entity"
            self.report(record, keys, f"{'.'.join(map(str, keys))} refers to unknown {singular} {ref!r}",
                        f"add data/{kind}/{ref}.toml or correct the id", value=ref)

    def _check_references(self, record: RawRecord) -> None:
        data = record.data
        for ref in data.get("source_ids", []):
            self._require(record, ("source_ids",), "sources", ref)
        if record.kind == "entities":
            for key in ENTITY_LINKS:
                if key not in data:
                    continue
                self._require(record, (key,), "entities", data[key])
                if data[key] == data["id"]:
                    self.report(record, (key,), f"{key} names the entity itself",
                                "name another entity, or remove the field", value=data[key])
            for index, alias in enumerate(data.get("aliases", [])):
                for ref in alias.get("source_ids", []):
                    self._require(record, ("aliases", index, "source_ids"), "sources", ref)
        elif record.kind == "cases":
            for index, party in enumerate(data.get("parties", [])):
                self._require(record, ("parties", index, "entity_id"), "entities", party["entity_id"])
                for ref in party.get("source_ids", []):
                    self._require(record, ("parties", index, "source_ids"), "sources", ref)
        elif record.kind == "providers":
            self._require(record, ("entity_id",), "entities", data["entity_id"])

    def _check_sources_given(self, record: RawRecord) -> None:
        data = record.data
        if record.kind == "cases":
            if not data.get("source_ids"):
                self.report(record, ("source_ids",), "the case cites no source",
                            "add at least one id from data/sources/ to source_ids")
            for index, party in enumerate(data.get("parties", [])):
                if not party.get("source_ids"):
                    self.report(record, ("parties", index, "role"),
                                f"the role of {party['entity_id']!r} cites no source",
                                "add source_ids naming the reporting that gives this role")
        if record.kind == "entities":
            for index, alias in enumerate(data.get("aliases", [])):
                if not alias.get("source_ids"):
                    self.report(record, ("aliases", index, "domain"),
                                f"the alias {alias['domain']!r} cites no source",
                                "add source_ids naming the reporting that ties it to this entity")

    def _check_german(self, record: RawRecord) -> None:
        """Every English text a person reads has its German text in [de], and [de] translates
        only what is there in English. Review rules: the server still loads the record, and
        answers in English where the German is missing."""
        data = record.data
        german = data.get("de") or {}
        for key in GERMAN_FIELDS.get(record.kind, ()):
            if data.get(key) and not german.get(key):
                self.report(record, (key,), f"{key} has no German text",
                            f"add [de] {key} = \"…\" with the same text in German, in our own words",
                            fatal=False)
        for key in german:
            if key in GERMAN_FIELDS.get(record.kind, ()) + GERMAN_OPTIONAL.get(record.kind, ()) and not data.get(key):
                self.report(record, ("de", key), f"de.{key} translates no English {key}",
                            f"add the English {key}, or remove de.{key}", fatal=False)

    def _check_url(self, record: RawRecord, keys: tuple, url: str | None) -> None:
        if url is None:
            return
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.report(record, keys, f"{url!r} is not an http(s) address",
                        "use a full http:// or https:// URL, or leave url out and explain in note",
                        value=url)

    def _dates(self, data: dict):
        if record_date := data.get("last_reviewed"):
            yield ("last_reviewed",), record_date
        if published := data.get("published"):
            yield ("published",), published
        for key, value in (data.get("dates") or {}).items():
            yield ("dates", key), value
        if taken := (data.get("ranges_source") or {}).get("taken"):
            yield ("ranges_source", "taken"), taken

    def _check_dates(self, record: RawRecord) -> None:
        if record.kind != "sources" and not record.data.get("last_reviewed"):
            self.report(record, ("id",), "last_reviewed is missing",
                        "add last_reviewed = YYYY-MM-DD, the day you checked the record", fatal=False)
        for keys, value in self._dates(record.data):
            parsed = parse_partial_date(value)
            if parsed is None:
                self.report(record, keys, f"{'.'.join(keys)} = {value!r} is not a valid date",
                            "write YYYY-MM-DD, or \"YYYY-MM\" / \"YYYY\" when only part is known",
                            value=value, fatal=False)
            elif parsed > self.today:
                self.report(record, keys, f"{'.'.join(keys)} = {value!r} is in the future",
                            "use the date the event happened or was reported", value=value, fatal=False)

    def _check_sorted(self, record: RawRecord) -> None:
        data = record.data
        lists: list[tuple[tuple, list, object]] = [(("source_ids",), data.get("source_ids", []), None)]
        if record.kind == "entities":
            lists.append((("domains",), data.get("domains", []), None))
            lists.append((("aliases",), [a["domain"] for a in data.get("aliases", [])], None))
            for index, alias in enumerate(data.get("aliases", [])):
                lists.append((("aliases", index, "source_ids"), alias.get("source_ids", []), None))
        if record.kind == "cases":
            lists.append((("parties",), [p["entity_id"] for p in data.get("parties", [])], None))
            for index, party in enumerate(data.get("parties", [])):
                lists.append((("parties", index, "source_ids"), party.get("source_ids", []), None))
        if record.kind == "providers":
            for key in ("asns", "nameserver_patterns", "cname_patterns"):
                lists.append(((key,), data.get(key, []), None))
            for key in ("ipv4", "ipv6"):
                lists.append(((key,), data.get(key, []), _network_key))
            lists.append((("header_patterns",), data.get("header_patterns", []),
                          lambda item: (item.get("name", ""), item.get("value", ""))))
        for keys, items, sort_key in lists:
            if sort_key is None and _plainly_sorted(items):
                continue  # the common case: nothing to report, told without a sorted copy and a set
            try:
                expected = sorted(items, key=sort_key)
            except (ValueError, TypeError):
                continue  # an invalid range or item; _check_ranges or the domain checks report it
            if items != expected:
                first = next(i for i, (a, b) in enumerate(zip(items, expected)) if a != b)
                self.report(record, keys, f"{'.'.join(map(str, keys))} is not sorted ({items[first]!r} is out of place)",
                            f"sort the list; it should start {expected[: min(3, len(expected))]!r}",
                            value=items[first] if isinstance(items[first], str) else None, fatal=False)
            # items that sorted() could compare with a string are strings, each its own str()
            plain = sort_key is None and items and type(items[0]) is str
            distinct = len(set(items)) if plain else len(set(map(str, items)))
            if distinct != len(items):
                self.report(record, keys, f"{'.'.join(map(str, keys))} lists an item twice",
                            "remove the duplicate", fatal=False)

    def _check_ranges(self, record: RawRecord) -> None:
        for key, version in (("ipv4", 4), ("ipv6", 6)):
            for cidr in record.data.get(key, []):
                try:
                    network = ipaddress.ip_network(cidr, strict=True)
                except ValueError as err:
                    self.report(record, (key,), f"{cidr!r} is not a valid network: {err}",
                                "write the network address with its prefix length, e.g. 104.16.0.0/13",
                                value=cidr)
                    continue
                if network.version != version:
                    self.report(record, (key,), f"{cidr!r} is not an IPv{version} network",
                                f"move it to the ipv{network.version} list", value=cidr)

    def _check_domains(self, entities: list[RawRecord]) -> None:
        lists = [record.data.get("domains", []) for record in entities]
        bulk = self._bulk_flags(lists)  # a name listed twice is caught by the claims
        for record, in_bulk, domains in zip(entities, bulk, lists):
            if not in_bulk:
                for domain in domains:
                    self._check_registrable(record, ("domains",), domain)
            for index, alias in enumerate(record.data.get("aliases", ())):
                self._check_registrable(record, ("aliases", index, "domain"), alias["domain"])
        # Claims: every name into one index, as the dataset's domain index holds them, domain ->
        # (entity, alias relation or None). When it ends up with as many names as were claimed,
        # none was claimed twice, and it is that index (self.domain_index); otherwise the claims
        # are walked again one by one, to report each.
        if all(bulk):
            in_bulk_lists, entries = lists, [(record.data, None) for record in entities]
        else:
            in_bulk_lists = [domains for domains, in_bulk in zip(lists, bulk) if in_bulk]
            entries = [(record.data, None) for record, in_bulk in zip(entities, bulk) if in_bulk]
        # the common case in one dict, made without a Python loop over the names
        owners = chain.from_iterable(map(repeat, entries, map(len, in_bulk_lists)))
        index: dict[str, tuple[dict, str | None]] = dict(zip(chain.from_iterable(in_bulk_lists), owners))
        claimed_names = sum(map(len, in_bulk_lists))
        for record, in_bulk, domains in zip(entities, bulk, lists):
            if not in_bulk:
                for domain in domains:
                    if isinstance(domain, str):
                        index[domain] = (record.data, None)
                        claimed_names += 1
            for alias in record.data.get("aliases", ()):
                if isinstance(alias["domain"], str):
                    index[alias["domain"]] = (record.data, alias.get("relation"))
                    claimed_names += 1
        self.domain_index = index
        if len(index) == claimed_names:
            return
        first_claims: dict[str, tuple[RawRecord, tuple]] = {}
        repeated: dict[str, list[tuple[RawRecord, tuple]]] = {}  # every claim of a domain claimed more than once
        for record in entities:
            claimed = [(("domains",), d) for d in record.data.get("domains", [])]
            claimed += [(("aliases", i, "domain"), a["domain"]) for i, a in enumerate(record.data.get("aliases", []))]
            for keys, domain in claimed:
                if not isinstance(domain, str):
                    continue
                claim = (record, keys)
                first = first_claims.setdefault(domain, claim)
                if first is not claim:
                    repeated.setdefault(domain, [first]).append(claim)
        for domain, claims in repeated.items():
            records = {id(record) for record, _ in claims}
            for record, keys in claims:
                others = sorted({other.path.name for other, _ in claims if other is not record})
                if others:
                    self.report(record, keys, f"{domain!r} is also claimed by {', '.join(others)}",
                                "a domain belongs to one entity only; keep it where reporting places it",
                                value=domain)
                elif len(records) == 1:
                    self.report(record, keys, f"{domain!r} is listed twice in this entity",
                                "remove the duplicate", value=domain)
                    break

    def _bulk_flags(self, lists: list[list]) -> list[bool]:
        """For each entity's domains, whether the whole list passes _all_plain_registrable (then
        it is not walked name by name). Asked for runs of consecutive lists at once: a clean
        dataset takes a few hundred calls instead of one per entity, and since the answer is a
        property of each name alone, "all pass" for a run is "each passes". A run that fails is
        asked list by list, so the same lists are walked as when each is asked alone."""
        # (only lists are joined: the schema refuses any other domains value, but a Checker
        # given records directly must not read a string's characters as names)
        if not {list}.issuperset(map(type, lists)):
            return [self._all_plain_registrable(domains) for domains in lists]
        flags: list[bool] = []
        for run in _runs(lists, BULK_NAMES):
            if self._all_plain_registrable(list(chain.from_iterable(run))):
                flags += repeat(True, len(run))
            else:
                flags += map(self._all_plain_registrable, run)
        return flags

    def _all_plain_registrable(self, domains: list) -> bool:
        """Whether every item is a plain name (what parse() passes through unchanged) that is its
        own registrable domain: the common case, decided without a full parse."""
        text = _plain_text(domains)
        return text is not None and self._suffixes.all_registrable(domains, joined=text)

    def _check_registrable(self, record: RawRecord, keys: tuple, domain: str) -> None:
        if self._all_plain_registrable([domain]):
            return
        try:
            hostname = parse_hostname(domain)
        except CaseflagError as err:
            self.report(record, keys, f"{domain!r} is not a public domain: {err.message}",
                        "use the registrable domain, lowercase, in punycode", value=domain)
            return
        if hostname.is_ip or hostname.registrable_domain != domain:
            self.report(record, keys,
                        f"{domain!r} is not a registrable domain (its registrable domain is {hostname.registrable_domain!r})",
                        f"write {hostname.registrable_domain!r} — lowercase, punycode, no subdomain",
                        value=domain)


# Lowercase LDH labels, at least two, the last not all digits: what parse() passes through unchanged.
_PLAIN_NAME = re.compile(r"(?=.{1,253}$)(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)+(?!-)(?![0-9]+$)[a-z0-9-]{1,63}(?<!-)")


_PLAIN_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_-.\n"
_TO_SEPARATOR = bytes.maketrans(b".\n", b"||")
_OVER_63 = (63).__lt__
# For plain_labels' first pass: separators and "-" become "|", any byte no plain name has b"\0".
_CLASSES = bytes(byte if byte in _PLAIN_BYTES else 0 for byte in range(256)).translate(bytes.maketrans(b".\n-", b"|||"))


def plain_labels(domains: list) -> bool:
    """Whether every item is a string of labels _PLAIN_NAME allows (lowercase letters, digits,
    '_' and inner '-', 1 to 63 each; names up to 253) — all of _PLAIN_NAME but its two rules
    on the last label (two labels at least, the last not all digits and without '_'), which
    SuffixList.all_registrable refuses anyway. Decided on the list joined by newlines with a
    few passes in C instead of a regex match per name (a million of them in a big load). Names
    over 63 characters (whose labels the passes cannot measure) are also matched one by one; a
    list with a newline inside a name goes name by name."""
    return _plain_text(domains) is not None


def _plain_text(domains: list) -> str | None:
    """plain_labels, giving the names joined by newlines when it is true (None when not), so the
    suffix list need not join a million names again."""
    try:
        text = "\n".join(domains)
    except TypeError:  # not a string
        return None
    if not domains:
        return text
    if not text or text.count("\n") != len(domains) - 1 or not text.isascii():
        return text if all(map(_PLAIN_NAME.fullmatch, domains)) else None
    if max(map(len, domains)) > 63:
        long_names = compress(domains, map(_OVER_63, map(len, domains)))
        if not all(map(_PLAIN_NAME.fullmatch, long_names)):
            return None
    raw = text.encode("ascii")
    joined = raw.translate(_CLASSES)
    if b"\0" in joined:
        return None  # a character no plain name has
    # Each search of a two-byte pattern costs ~20 ms on a million names, so the common case takes
    # one: with "-" also made "|", no "||" and no "|" at the ends means no empty label and no "-"
    # at a label's edge. Only names with "--" inside a label (xn--, a--b) need the exact searches.
    if b"||" not in joined and joined[:1] != b"|" and joined[-1:] != b"|":
        return text
    cut = raw.translate(_TO_SEPARATOR)  # every label between two "|": none empty, none with "-" at an edge
    if (cut[:1] not in b"|-" and cut[-1:] not in b"|-" and b"||" not in cut
            and b"|-" not in cut and b"-|" not in cut):
        return text
    return None


# Names the domain check asks about in one call: enough that a million names take a few hundred
# calls, few enough that their joined text stays in the CPU's cache (one call over all of them
# was no faster than one per entity: its passes over 17 MB wait on memory instead).
BULK_NAMES = 4_096


def _runs(lists: list[list], names: int) -> list[list[list]]:
    """The lists cut into runs of consecutive lists of about `names` names together (a longer
    list makes a run alone)."""
    runs, start, count = [], 0, 0
    for end, domains in enumerate(lists, 1):
        count += len(domains)
        if count >= names:
            runs.append(lists[start:end])
            start, count = end, 0
    if start < len(lists):
        runs.append(lists[start:])
    return runs


def _plainly_sorted(items) -> bool:
    """Whether the sorted check passes a list without a look at it item by item: under two items,
    or strings each above the one before (so sorted() keeps their order, and none is there twice)."""
    if type(items) is not list:
        return False
    if len(items) < 2:
        return True
    try:
        return type(items[0]) is str and all(map(lt, items, islice(items, 1, None)))
    except TypeError:  # a string next to something else: the full check says what sorted() says
        return False


def _schema_view(record: RawRecord) -> dict:
    """The record as the schema sees it. An entity's domains are checked one by one later, with
    better messages (registrable, lowercase, claimed once), so the schema sees only the first:
    a million-domain list would otherwise spend most of its load time here."""
    data = record.data
    domains = data.get("domains")
    if record.kind == "entities" and isinstance(domains, list) and len(domains) > 1:
        return {**data, "domains": domains[:1]}
    return data


def _network_key(cidr: str):
    network = ipaddress.ip_network(cidr, strict=False)
    return (network.version, int(network.network_address), network.prefixlen)


def parse_partial_date(value: str) -> dt.date | None:
    """'2018-11-07', '2018-11' or '2018' as the earliest date it can mean; None when invalid."""
    match = _DATE.match(str(value))
    if not match:
        return None
    year, month, day = match.groups()
    try:
        return dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


def check_records(records: list[RawRecord], data_dir: Path, today: dt.date | None = None,
                  strict_schemas: bool = False) -> list[Problem]:
    return Checker(records, schema_dir_for(data_dir), today, strict_schemas).run()


def check_and_index(records: list[RawRecord], data_dir: Path) -> tuple[list[Problem], dict[str, tuple]]:
    """check_records, and the domain index its claim check built on the way: every listed
    domain and alias -> (entity, alias relation or None). Only meaningful without fatal problems."""
    checker = Checker(records, schema_dir_for(data_dir))
    problems = checker.run()
    return problems, checker.domain_index


def lint(data_dir: Path, today: dt.date | None = None) -> list[Problem]:
    """Every problem in the data folder, sorted by file and line."""
    data_dir = Path(data_dir)
    records = read_all(data_dir)
    problems = check_records(records, data_dir, today, strict_schemas=True)
    if not records:
        problems.insert(0, Problem(data_dir, 1, "no record files found",
                                   "point at a folder with entities/, cases/, sources/, providers/"))
    return problems
