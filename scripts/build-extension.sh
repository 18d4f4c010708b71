#!/usr/bin/env bash
# Packs extension/ into dist/caseflag-chrome.zip and dist/caseflag-firefox.zip.
#
# Both packages hold the same files, the built-in list (data/index.json) included; each manifest drops the key the other browser uses (Chrome
# warns about background.scripts, Firefox about background.service_worker). The zips are
# reproducible: sorted entries with a fixed timestamp. DIST_DIR overrides the output folder.
set -euo pipefail

cd "$(dirname "$0")/.."
DIST_DIR="${DIST_DIR:-dist}"
mkdir -p "$DIST_DIR"
# The report link's address comes from pyproject.toml; a stale copy would send reports elsewhere.
python3 scripts/project_json.py --check

python3 - "$DIST_DIR" <<'PY'
import json
import sys
import zipfile
from pathlib import Path

SOURCE = Path("extension")
DIST = Path(sys.argv[1])
# Files that help develop the extension but are not part of it.
EXCLUDED_SUFFIXES = {".py", ".md"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def package(target: str, manifest: dict) -> Path:
    out = DIST / f"caseflag-{target}.zip"
    files = sorted(
        path for path in SOURCE.rglob("*")
        if path.is_file() and path.suffix not in EXCLUDED_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(SOURCE).parts)
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            name = path.relative_to(SOURCE).as_posix()
            data = path.read_bytes()
            if name == "manifest.json":
                data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out


manifest = json.loads((SOURCE / "manifest.json").read_text(encoding="utf-8"))

chrome = json.loads(json.dumps(manifest))
chrome["background"].pop("scripts", None)
chrome.pop("browser_specific_settings", None)
# Firefox's request to put the button on the toolbar; Chrome has no such key.
chrome["action"].pop("default_area", None)

firefox = json.loads(json.dumps(manifest))
firefox["background"].pop("service_worker", None)

for target, variant in (("chrome", chrome), ("firefox", firefox)):
    out = package(target, variant)
    print(f"{out} ({out.stat().st_size // 1024} KiB)")
PY
