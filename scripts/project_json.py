"""Writes extension/project.json from pyproject.toml's [project.urls]: the repository's address and
its issue form, which the extension's "Report a problem with this listing" opens prefilled.

    python3 scripts/project_json.py          # writes it
    python3 scripts/project_json.py --check  # exits 1 when it does not match pyproject.toml
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "extension" / "project.json"
# The issue form in .github/ISSUE_TEMPLATE/ that a report fills in.
ISSUE_TEMPLATE = "listing.yml"


def project_json(pyproject: Path = ROOT / "pyproject.toml") -> str:
    urls = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["urls"]
    repository = urls["Repository"].rstrip("/")
    data = {
        "repository": repository,
        "issue_form": f"{repository}/issues/new",
        "issue_template": ISSUE_TEMPLATE,
    }
    return json.dumps(data, indent=2) + "\n"


def main(argv: list[str]) -> int:
    wanted = project_json()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != wanted:
            print(f"{TARGET.relative_to(ROOT)}: does not match pyproject.toml [project.urls]; "
                  "run python3 scripts/project_json.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
