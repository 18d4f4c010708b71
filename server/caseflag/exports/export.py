"""Dump the whole curated list as JSON, JSON Lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import TextIO

from ..data.dataset import Dataset
from ..data.records import KINDS

LICENCE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
CSV_COLUMNS = ("kind", "id", "name", "domains", "type", "status", "roles", "dates", "source_ids", "url")


def _rows(dataset: Dataset):
    # First, as the Public Suffix List carries its own: which data this is, and its licence.
    yield {"kind": "meta", "id": dataset.version, "name": f"caseflag dataset, licence {LICENCE}"}
    for entity in dataset.entities.values():
        roles = [f"{inv.case['id']}:{inv.role}" for inv in dataset.involvements(entity["id"])]
        domains = entity.get("domains", []) + [a["domain"] for a in entity.get("aliases", [])]
        yield {"kind": "entity", "id": entity["id"], "name": entity["name"], "domains": " ".join(domains),
               "type": entity["kind"], "status": entity.get("status"), "roles": " ".join(roles),
               "source_ids": " ".join(entity.get("source_ids", []))}
    for case in dataset.cases.values():
        roles = [f"{p['entity_id']}:{p['role']}" for p in case.get("parties", [])]
        dates = [f"{k}={v}" for k, v in (case.get("dates") or {}).items()]
        yield {"kind": "case", "id": case["id"], "name": case["title"], "type": case["type"],
               "status": case["status"], "roles": " ".join(roles), "dates": " ".join(dates),
               "source_ids": " ".join(case.get("source_ids", []))}
    for source in dataset.sources.values():
        yield {"kind": "source", "id": source["id"], "name": source["title"], "type": source["kind"],
               "dates": f"published={source.get('published')}", "url": source.get("url", "")}
    for provider in dataset.providers.values():
        yield {"kind": "provider", "id": provider["id"], "name": provider.get("name", provider["id"]),
               "type": "provider", "roles": f"entity:{provider['entity_id']}"}


def write_json(dataset: Dataset, out: TextIO) -> None:
    records = {kind: list(getattr(dataset, kind).values()) for kind in KINDS}
    document = {"dataset_version": dataset.version, "licence": LICENCE, **records}
    json.dump(document, out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_jsonl(dataset: Dataset, out: TextIO) -> None:
    out.write(json.dumps({"record_kind": "meta", "dataset_version": dataset.version, "licence": LICENCE}) + "\n")
    for kind in KINDS:
        for record in getattr(dataset, kind).values():
            out.write(json.dumps({"record_kind": kind[:-1] if kind != "entities" else "entity", **record},
                                 ensure_ascii=False) + "\n")


def write_csv(dataset: Dataset, out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in _rows(dataset):
        writer.writerow({col: row.get(col) or "" for col in CSV_COLUMNS})


def write_extension_index(dataset: Dataset, out: TextIO) -> None:
    """The compact index the browser extension ships as extension/data/index.json."""
    from .extension_index import index_text

    out.write(index_text(dataset))


# Every format `data export --format` offers, by name: writer(dataset, text stream); `data release`
# writes the ones its EXPORT_FILES name.
EXPORT_FORMATS: dict[str, Callable[[Dataset, TextIO], None]] = {
    "json": write_json,
    "jsonl": write_jsonl,
    "csv": write_csv,
    "extension": write_extension_index,
}


def write_export(dataset: Dataset, fmt: str, out: TextIO) -> None:
    EXPORT_FORMATS[fmt](dataset, out)
