"""The listed site whose popup is the longest, for the browser tests that measure the popup."""

from __future__ import annotations

import json
from pathlib import Path


def longest_entry(extension_dir: Path) -> tuple[str, str]:
    """(entity id, domain) of the entity with a domain that has the most cases, reports, other
    domains and related entities in the extension's bundled list."""
    index = json.loads((extension_dir / "data" / "index.json").read_text(encoding="utf-8"))

    def size(entity: dict) -> int:
        entry = entity["entry"]  # the index's format 2: the server's match entry for the entity
        cases = entry["cases"]
        return (4 * len(cases) + sum(len(case[2]) for case in cases) + len(entry["aliases"])
                + 2 * len(entry["related"]))

    entity = max((e for e in index["entities"] if e.get("domains")), key=size)
    return entity["id"], entity["domains"][0]
