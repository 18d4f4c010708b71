"""The dataset as one SQLite file: a table per record kind with keys, full-text search, and a view
of which cases each domain is tied to. The same data gives the same bytes (see `write_sqlite`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ..data.dataset import Dataset

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    publisher TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    published TEXT,
    kind TEXT NOT NULL,
    url TEXT,
    note TEXT
);
CREATE TABLE entities (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    jurisdiction TEXT,
    description TEXT NOT NULL,
    successor_of TEXT REFERENCES entities(id),
    predecessor_of TEXT REFERENCES entities(id),
    mirror_of TEXT REFERENCES entities(id),
    operated_by TEXT REFERENCES entities(id),
    note TEXT,
    last_reviewed TEXT NOT NULL
);
CREATE TABLE entity_sources (
    entity_id TEXT NOT NULL REFERENCES entities(id),
    source_id TEXT NOT NULL REFERENCES sources(id),
    PRIMARY KEY (entity_id, source_id)
) WITHOUT ROWID;
-- Both directions of every relation field, as the verdict reads them: related_id is entity_id's `relation`.
CREATE TABLE entity_relations (
    entity_id TEXT NOT NULL REFERENCES entities(id),
    related_id TEXT NOT NULL REFERENCES entities(id),
    relation TEXT NOT NULL,
    PRIMARY KEY (entity_id, related_id)
) WITHOUT ROWID;
-- relation: 'primary' for the entity's own domains, else the alias relation (mirror, former, ...).
CREATE TABLE domains (
    domain TEXT PRIMARY KEY,
    entity_id TEXT NOT NULL REFERENCES entities(id),
    relation TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX domains_entity ON domains (entity_id);
CREATE TABLE domain_sources (
    domain TEXT NOT NULL REFERENCES domains(domain),
    source_id TEXT NOT NULL REFERENCES sources(id),
    PRIMARY KEY (domain, source_id)
) WITHOUT ROWID;
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    type TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    court TEXT,
    docket TEXT,
    status TEXT NOT NULL,
    filed TEXT,
    decided TEXT,
    reported TEXT,
    outcome TEXT,
    summary TEXT NOT NULL,
    note TEXT,
    last_reviewed TEXT NOT NULL
);
CREATE TABLE case_sources (
    case_id TEXT NOT NULL REFERENCES cases(id),
    source_id TEXT NOT NULL REFERENCES sources(id),
    PRIMARY KEY (case_id, source_id)
) WITHOUT ROWID;
CREATE TABLE parties (
    case_id TEXT NOT NULL REFERENCES cases(id),
    entity_id TEXT NOT NULL REFERENCES entities(id),
    role TEXT NOT NULL,
    PRIMARY KEY (case_id, entity_id, role)
) WITHOUT ROWID;
CREATE INDEX parties_entity ON parties (entity_id);
CREATE TABLE party_sources (
    case_id TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    role TEXT NOT NULL,
    source_id TEXT NOT NULL REFERENCES sources(id),
    PRIMARY KEY (case_id, entity_id, role, source_id),
    FOREIGN KEY (case_id, entity_id, role) REFERENCES parties (case_id, entity_id, role)
) WITHOUT ROWID;
CREATE TABLE providers (
    id TEXT PRIMARY KEY,
    entity_id TEXT NOT NULL REFERENCES entities(id),
    name TEXT NOT NULL,
    short_label TEXT NOT NULL,
    ranges_url TEXT NOT NULL,
    ranges_taken TEXT NOT NULL,
    last_reviewed TEXT NOT NULL
);
-- kind: asn, ipv4, ipv6, nameserver_pattern or cname_pattern.
CREATE TABLE provider_networks (
    provider_id TEXT NOT NULL REFERENCES providers(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (provider_id, kind, value)
) WITHOUT ROWID;
-- Names, titles and descriptions/summaries of entities, cases and sources: MATCH 'extradition'.
CREATE VIRTUAL TABLE search USING fts5(kind UNINDEXED, id UNINDEXED, name, text, tokenize = 'unicode61');
-- The same per table, over the table's own rows (rowid for rowid): Datasette's search box on
-- entities and cases (metadata.json names them as each table's fts_table).
CREATE VIRTUAL TABLE entities_fts USING fts5(name, description, content = 'entities', tokenize = 'unicode61');
CREATE VIRTUAL TABLE cases_fts USING fts5(title, summary, outcome, content = 'cases', tokenize = 'unicode61');
-- Which cases a domain is tied to: its own entity's (via 'own'), and those of the entities one hop
-- away (via the relation: 'predecessor' means the case's party is the entity's predecessor).
CREATE VIEW domain_cases AS
    SELECT d.domain, d.entity_id, p.case_id, p.role, 'own' AS via, p.entity_id AS party_id
      FROM domains d JOIN parties p ON p.entity_id = d.entity_id
    UNION ALL
    SELECT d.domain, d.entity_id, p.case_id, p.role, r.relation AS via, p.entity_id AS party_id
      FROM domains d JOIN entity_relations r ON r.entity_id = d.entity_id
                     JOIN parties p ON p.entity_id = r.related_id;
"""


def _rows(dataset: Dataset, version: str, date: str) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, so insertion order (and so the file's bytes) follows the data only."""
    rows: dict[str, list[tuple]] = {name: [] for name in (
        "meta", "sources", "entities", "entity_sources", "entity_relations", "domains", "domain_sources",
        "cases", "case_sources", "parties", "party_sources", "providers", "provider_networks", "search")}
    rows["meta"] = [("dataset_version", version), ("release_date", date), ("licence", "CC BY 4.0"),
                    ("schema_version", SCHEMA_VERSION)]
    for source in dataset.sources.values():
        rows["sources"].append((source["id"], source["publisher"], source["title"], source["language"],
                                source.get("published"), source["kind"], source.get("url"), source.get("note")))
        rows["search"].append(("source", source["id"], source["title"], source.get("note") or ""))
    for entity in dataset.entities.values():
        rows["entities"].append((entity["id"], entity["name"], entity["kind"], entity["status"],
                                 entity.get("jurisdiction"), entity["description"], entity.get("successor_of"),
                                 entity.get("predecessor_of"), entity.get("mirror_of"), entity.get("operated_by"),
                                 entity.get("note"), entity["last_reviewed"]))
        rows["entity_sources"] += [(entity["id"], sid) for sid in entity.get("source_ids", [])]
        rows["entity_relations"] += [(entity["id"], other["id"], relation)
                                     for relation, other in dataset.related(entity["id"])]
        rows["domains"] += [(domain, entity["id"], "primary") for domain in entity.get("domains", [])]
        for alias in entity.get("aliases", []):
            rows["domains"].append((alias["domain"], entity["id"], alias["relation"]))
            rows["domain_sources"] += [(alias["domain"], sid) for sid in alias.get("source_ids", [])]
        rows["search"].append(("entity", entity["id"], entity["name"], entity["description"]))
    for case in dataset.cases.values():
        dates = case.get("dates") or {}
        rows["cases"].append((case["id"], case["title"], case["type"], case["jurisdiction"], case.get("court"),
                              case.get("docket"), case["status"], dates.get("filed"), dates.get("decided"),
                              dates.get("reported"), case.get("outcome"), case["summary"], case.get("note"),
                              case["last_reviewed"]))
        rows["case_sources"] += [(case["id"], sid) for sid in case.get("source_ids", [])]
        for party in case.get("parties", []):
            key = (case["id"], party["entity_id"], party["role"])
            rows["parties"].append(key)
            rows["party_sources"] += [(*key, sid) for sid in party.get("source_ids", [])]
        text = "\n".join(filter(None, (case["summary"], case.get("outcome"))))
        rows["search"].append(("case", case["id"], case["title"], text))
    for provider in dataset.providers.values():
        ranges = provider.get("ranges_source") or {}
        rows["providers"].append((provider["id"], provider["entity_id"], provider["name"], provider["short_label"],
                                  ranges.get("url"), ranges.get("taken"), provider["last_reviewed"]))
        for key, kind in (("asns", "asn"), ("ipv4", "ipv4"), ("ipv6", "ipv6"),
                          ("nameserver_patterns", "nameserver_pattern"), ("cname_patterns", "cname_pattern")):
            rows["provider_networks"] += [(provider["id"], kind, str(value)) for value in provider.get(key, [])]
    # set(): a duplicated list item (a lint warning, not an error) must not break a primary key
    return {table: sorted(set(items), key=_sort_key) for table, items in rows.items()}


def _sort_key(row: tuple) -> tuple:
    return tuple("" if value is None else str(value) for value in row)


def write_sqlite(dataset: Dataset, path: str | Path, version: str, date: str) -> None:
    """Write the dataset to `path` (replacing it). Built in memory with a fixed page size, rows
    inserted in sorted order, then copied out by VACUUM INTO: no timestamps, no free pages, so
    the bytes depend only on the data (and on the SQLite library, which writes its version into
    the header)."""
    path = Path(path)
    db = sqlite3.connect(":memory:", isolation_level=None)  # explicit transactions: VACUUM needs none open
    try:
        db.execute("PRAGMA page_size = 4096")
        db.executescript(SCHEMA)
        db.execute("BEGIN")
        for table, rows in _rows(dataset, version, date).items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        db.execute("COMMIT")
        # Checked once at the end: entities refer to entities, so no insertion order satisfies
        # every key as it goes. The linter refuses such data; this keeps a broken file from shipping.
        problems = db.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise ValueError(f"foreign key problems in the SQLite export: {json.dumps(problems[:5])}")
        db.execute("INSERT INTO search(search) VALUES ('optimize')")
        path.unlink(missing_ok=True)
        db.execute("VACUUM INTO ?", (str(path),))
    finally:
        db.close()
    _index_tables(path)


def _index_tables(path: Path) -> None:
    """Fill entities_fts and cases_fts from the file's own rows: VACUUM may renumber the rowids
    they refer to, so they are built after it (the same rows give the same bytes)."""
    db = sqlite3.connect(str(path), isolation_level=None)
    try:
        for table in ("entities_fts", "cases_fts"):
            db.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
            db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    finally:
        db.close()
