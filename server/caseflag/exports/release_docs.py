"""What a release says about itself: README.md, DATA_DICTIONARY.md, LICENSE and Datasette's
metadata.json (licence, descriptions, full-text search on entities and cases).

One table of column descriptions feeds the data dictionary and Datasette's column help.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..data.dataset import Dataset

LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
README_FILE, DICTIONARY_FILE, LICENCE_FILE, METADATA_FILE = "README.md", "DATA_DICTIONARY.md", "LICENSE", "metadata.json"
DOC_FILES = (README_FILE, DICTIONARY_FILE, LICENCE_FILE, METADATA_FILE)

# table -> (what a row is, {column: meaning})
DICTIONARY: dict[str, tuple[str, dict[str, str]]] = {
    "entities": ("A site, service, company, person or body named in enforcement reporting.", {
        "id": "Stable identifier (lowercase, hyphens); the record's file name in data/entities/.",
        "name": "The entity's usual name.",
        "kind": "site, service, company, person, organisation, authority or intermediary.",
        "status": "Whether the site or business is active, defunct, seized, ... as last reviewed.",
        "jurisdiction": "ISO 3166 country code where the entity is based, when known.",
        "description": "One or two sentences in the project's own words.",
        "successor_of / predecessor_of / mirror_of / operated_by": "Relations to other entities, by id.",
        "last_reviewed": "When a maintainer last checked the record against its sources (YYYY-MM-DD).",
    }),
    "cases": ("A court case, prosecution, raid, order or official action.", {
        "id": "Stable identifier; the record's file name in data/cases/.",
        "title": "The case's usual title.",
        "type": "civil, criminal, administrative, ... (see data/schema/case.schema.json).",
        "jurisdiction": "ISO 3166 country code (or EU) of the court or authority.",
        "court / docket": "Court and docket number, when known.",
        "status": "pending, decided, settled, dismissed, ... as last reviewed.",
        "filed / decided / reported": "Dates (YYYY-MM-DD, YYYY-MM or YYYY).",
        "outcome / summary": "In the project's own words.",
    }),
    "parties": ("Who took part in a case, in which role (plaintiff, defendant, subject, mentioned, ...).", {
        "case_id / entity_id": "The case and the entity, by id.",
        "role": "The entity's role; `mentioned` means named only in reporting, never a party.",
    }),
    "sources": ("A publication a record rests on: an article, judgment, filing or press release.", {
        "publisher / title / language / published": "As published; the language as a BCP 47 tag.",
        "kind": "news, court_record, press_release, ...",
        "url": "Where it was read (absent when no stable address is known).",
    }),
    "domains": ("Every domain an entity is known by.", {
        "domain": "The registrable domain (punycode for IDNs).",
        "relation": "`primary` for the entity's own domains, else the alias relation (mirror, former, ...).",
    }),
    "providers": ("An infrastructure provider the verdict can detect (ranges, ASNs, name patterns).", {
        "ranges_url / ranges_taken": "Where the published address ranges come from and when they were taken.",
    }),
    "domain_cases": ("View: which cases each domain is tied to, through its own entity or one hop away.", {
        "via": "`own`, or the relation through which the case reaches the domain.",
    }),
}


def dictionary_text(dataset: Dataset) -> str:
    lines = [f"# Data dictionary — caseflag dataset {dataset.version}", "",
             "The tables of `caseflag.sqlite`; the JSON, JSON Lines and CSV exports hold the same records "
             "with the field names of `data/schema/*.schema.json`.", ""]
    for table, (what, columns) in DICTIONARY.items():
        lines += [f"## {table}", "", what, "", "| column | meaning |", "| --- | --- |"]
        lines += [f"| `{column}` | {meaning} |" for column, meaning in columns.items()]
        lines.append("")
    lines += ["## search", "", "Full-text index (FTS5) of names, titles, descriptions and summaries: "
              "`SELECT * FROM search WHERE search MATCH 'extradition'`. `entities_fts` and `cases_fts` are the "
              "same for one table each (Datasette's search box).", ""]
    return "\n".join(lines)


def readme_text(dataset: Dataset, date: str, files: list[str]) -> str:
    counts = ", ".join(f"{len(getattr(dataset, kind))} {kind}" for kind in ("entities", "cases", "sources", "providers"))
    listing = "\n".join(f"- `{name}`" for name in sorted(files))
    return f"""# caseflag dataset {dataset.version} ({date})

Entities named in copyright-enforcement reporting, the cases they appear in, and the sources
behind every statement: {counts}.

Licence: {LICENCE} ({LICENCE_URL}); see `LICENSE`. Cite it as: caseflag dataset, version
{dataset.version}, released {date}. Every export carries this version and licence inside it.

## Files

{listing}

`SHA256SUMS` lists each file's checksum (`sha256sum -c SHA256SUMS`); `CHANGES.md` says what changed
since the previous release; `DATA_DICTIONARY.md` describes every table and column.

## Explore it

    datasette caseflag.sqlite --metadata metadata.json

opens the SQLite file in a browser with the licence, the column descriptions and full-text search
on entities and cases.
"""


def metadata(dataset: Dataset, date: str) -> dict:
    """Datasette's metadata.json: licence, descriptions, full-text search on entities and cases."""
    tables = {}
    for table, (what, columns) in DICTIONARY.items():
        entry: dict = {"description": what, "columns": {
            name: meaning for key, meaning in columns.items() for name in key.split(" / ")}}
        if table in ("entities", "cases"):
            entry["fts_table"] = f"{table}_fts"
        tables[table] = entry
    return {"title": f"caseflag dataset {dataset.version}", "description": f"Released {date}.",
            "license": LICENCE, "license_url": LICENCE_URL, "source": "caseflag",
            "databases": {"caseflag": {"tables": tables}}}


def data_licence() -> str:
    """The data licence file (data/LICENSE), from the checkout or the installed wheel."""
    from ..core.config import DEFAULT_DATA_DIR

    path = Path(DEFAULT_DATA_DIR) / "LICENSE"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return resources.files("caseflag.bundled_data").joinpath("LICENSE").read_text(encoding="utf-8")


def write_docs(dataset: Dataset, staging: Path, date: str, files: list[str]) -> list[str]:
    """Write the release's own documents into staging; returns their names."""
    (staging / README_FILE).write_text(readme_text(dataset, date, [*files, *DOC_FILES]), encoding="utf-8")
    (staging / DICTIONARY_FILE).write_text(dictionary_text(dataset), encoding="utf-8")
    (staging / LICENCE_FILE).write_text(data_licence(), encoding="utf-8")
    (staging / METADATA_FILE).write_text(json.dumps(metadata(dataset, date), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    return list(DOC_FILES)
