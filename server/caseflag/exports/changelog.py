"""CHANGES.md for a release: which entities, domains, cases, sources and providers were added,
removed or changed since the previous release, and which fields changed."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("entities", "domains", "cases", "sources", "providers")
TITLE_FIELDS = {"entities": "name", "cases": "title", "sources": "title", "providers": "name"}


@dataclass
class Changes:
    """One kind's differences: ids added and removed, and changed ids with the fields that differ."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)


def domain_records(entities: dict[str, dict]) -> dict[str, dict]:
    """Every domain as a record of its own: which entity holds it, and how (primary or the alias relation)."""
    domains = {}
    for entity in entities.values():
        for domain in entity.get("domains", []):
            domains[domain] = {"entity_id": entity["id"], "relation": "primary"}
        for alias in entity.get("aliases", []):
            domains[alias["domain"]] = {"entity_id": entity["id"], "relation": alias["relation"],
                                        "source_ids": alias.get("source_ids", [])}
    return domains


def compare(old: dict[str, dict], new: dict[str, dict]) -> Changes:
    changes = Changes(added=sorted(new.keys() - old.keys()), removed=sorted(old.keys() - new.keys()))
    for record_id in sorted(old.keys() & new.keys()):
        before, after = old[record_id], new[record_id]
        fields = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
        if fields:
            changes.changed[record_id] = fields
    return changes


def _with_domains(records: dict[str, dict[str, dict]] | None) -> dict[str, dict[str, dict]]:
    """A {kind: {id: record}} set (none: an empty one) with its domains as records of their own."""
    records = records or {kind: {} for kind in TITLE_FIELDS}
    return {**records, "domains": domain_records(records["entities"])}


def diff(old: dict[str, dict[str, dict]] | None, new: dict[str, dict[str, dict]]) -> dict[str, Changes]:
    """Changes per kind between two {kind: {id: record}} sets; with no old set, everything is added."""
    old, new = _with_domains(old), _with_domains(new)
    return {kind: compare(old[kind], new[kind]) for kind in KINDS}


def _label(kind: str, record_id: str, records: dict[str, dict]) -> str:
    record = records[record_id]
    if kind == "domains":
        return f"`{record_id}` ({record['relation']}, of `{record['entity_id']}`)"
    title = record.get(TITLE_FIELDS[kind])
    return f"`{record_id}` — {title}" if title else f"`{record_id}`"


def _field_change(name: str, before, after) -> str:
    """`status` (`pending` → `judgment`) for short values; a case's parties by who changed role;
    a table (dates, the German text) by its keys; other long text and lists by name only."""
    def short(value) -> bool:
        return value is None or (isinstance(value, (str, int)) and len(str(value)) <= 40 and "\n" not in str(value))

    if short(before) and short(after):
        return f"`{name}` ({_value(before)} → {_value(after)})"
    if name == "parties" and isinstance(before or [], list) and isinstance(after or [], list):
        return f"`parties` ({_party_changes(before or [], after or [])})"
    if isinstance(before or {}, dict) and isinstance(after or {}, dict):
        if name == "de" and not before:
            return "`de` (German text added)"
        old, new = before or {}, after or {}
        keys = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
        parts = [f"`{key}` ({_value(old.get(key))} → {_value(new.get(key))})"
                 if short(old.get(key)) and short(new.get(key)) else f"`{key}`" for key in keys]
        return f"`{name}` ({', '.join(parts)})"
    return f"`{name}`"


def _party_changes(before: list, after: list) -> str:
    """Whose role in a case was added, removed or changed, and whose sources changed."""
    old = {party.get("entity_id"): party for party in before if isinstance(party, dict)}
    new = {party.get("entity_id"): party for party in after if isinstance(party, dict)}
    parts = []
    for entity_id in sorted(old.keys() | new.keys(), key=str):
        was, now = old.get(entity_id), new.get(entity_id)
        if was is None:
            parts.append(f"`{entity_id}` added as `{now.get('role')}`")
        elif now is None:
            parts.append(f"`{entity_id}` (`{was.get('role')}`) removed")
        elif was.get("role") != now.get("role"):
            parts.append(f"`{entity_id}`: `{was.get('role')}` → `{now.get('role')}`")
        elif was != now:
            parts.append(f"`{entity_id}`: sources")
    return "; ".join(parts)


def _value(value) -> str:
    return "none" if value is None else f"`{value}`"


def _changed_lines(kind: str, changed: dict[str, list[str]], before: dict, after: dict) -> list[str]:
    """The "Changed:" list (corrections and additions to a record: each field that differs), then the
    records whose only change is their `last_reviewed` date, in one line (checked, nothing to correct)."""
    lines = []
    corrected = {rid: fields for rid, fields in changed.items() if fields != ["last_reviewed"]}
    reviewed = [rid for rid, fields in changed.items() if fields == ["last_reviewed"]]
    if corrected:
        lines += ["", "Changed:", ""]
        lines += [f"- {_label(kind, rid, after)}: "
                  + ", ".join(_field_change(name, before[rid].get(name), after[rid].get(name)) for name in fields)
                  for rid, fields in corrected.items()]
    if reviewed:
        lines += ["", f"Only `last_reviewed` changed ({len(reviewed)}): "
                  + ", ".join(f"`{rid}`" for rid in reviewed) + "."]
    return lines


def render(changes: dict[str, Changes], *, version: str, date: str, old: dict | None, new: dict,
           previous_version: str | None) -> str:
    """The changelog as Markdown; the same changes give the same text."""
    lines = [f"# caseflag data release {date}", "", f"Dataset version `{version}`, released {date}.", "",
             "First release: every record is new." if previous_version is None
             else f"Changes since the previous release (dataset version `{previous_version}`).",
             "", "| | added | removed | changed |", "|---|---:|---:|---:|"]
    for kind in KINDS:
        item = changes[kind]
        lines.append(f"| {kind} | {len(item.added)} | {len(item.removed)} | {len(item.changed)} |")
    if any(item.changed for item in changes.values()):
        lines += ["", "Why a record was corrected is said in its `note`; `last_reviewed` is the day it was "
                  "last checked against its sources."]
    old, new = _with_domains(old), _with_domains(new)
    for kind in KINDS:
        item = changes[kind]
        if not (item.added or item.removed or item.changed):
            continue
        lines += ["", f"## {kind.capitalize()}"]
        if item.added:
            lines += ["", "Added:", ""]
            lines += [f"- {_label(kind, rid, new[kind])}" for rid in item.added]
        if item.removed:
            lines += ["", "Removed:", ""]
            lines += [f"- {_label(kind, rid, old[kind])}" for rid in item.removed]
        if item.changed:
            lines += _changed_lines(kind, item.changed, old[kind], new[kind])
    if previous_version is not None and not any(
            item.added or item.removed or item.changed for item in changes.values()):
        lines += ["", "No record changed."]
    return "\n".join(lines) + "\n"
