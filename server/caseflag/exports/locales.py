"""The extension's `_locales` entries for the message catalogue, generated from it.

Every catalogue key `a.b` becomes the message `cf_a__b` in `extension/_locales/<lang>/messages.json`
(the prefix marks what this module owns: every other key there is the extension's own UI text and is
left as it is). `cf__keys` lists the catalogue's keys: chrome.i18n gives "" for a missing key (and Firefox
logs an error), so the popup asks only for keys it has. Run `python -m caseflag.exports.locales` after editing the catalogue; `--check` only compares.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.messages import catalogues

PREFIX = "cf_"
KEYS_KEY = "cf__keys"
EXTENSION_DIR = Path(__file__).resolve().parents[3] / "extension"


def locale_key(key: str) -> str:
    """The _locales name of a catalogue key (names may hold letters, digits and '_' only)."""
    return PREFIX + key.replace(".", "__")


def catalogue_entries(lang: str) -> dict[str, dict]:
    """The catalogue of one language as _locales entries ('$' doubled: chrome.i18n reads '$' itself)."""
    messages = catalogues()[lang]
    entries = {
        locale_key(key): {"message": text.replace("$", "$$"),
                          "description": f"Generated from server/caseflag/core/messages/{lang}.json, key {key}: "
                                         "edit it there and run python -m caseflag.exports.locales."}
        for key, text in messages.items() if not key.startswith("_")
    }
    entries[KEYS_KEY] = {"message": ",".join(key for key in messages if not key.startswith("_")),
                         "description": "Generated: the catalogue's keys (the popup asks for no other)."}
    return entries


def write_locales(extension_dir: Path = EXTENSION_DIR, check: bool = False) -> list[str]:
    """Write (or with check, only compare) each language's messages.json; the paths that differ."""
    stale = []
    for lang in catalogues():
        path = extension_dir / "_locales" / lang / "messages.json"
        current = path.read_text(encoding="utf-8") if path.is_file() else "{}"
        # the locale's own keys as they are; the catalogue's replaced by its current text
        own = {key: value for key, value in json.loads(current).items() if not key.startswith(PREFIX)}
        text = json.dumps({**own, **catalogue_entries(lang)}, ensure_ascii=False, indent=2) + "\n"
        if current != text:
            stale.append(str(path))
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the locales are current")
    parser.add_argument("--extension", type=Path, default=EXTENSION_DIR)
    args = parser.parse_args(argv)
    stale = write_locales(args.extension, check=args.check)
    for path in stale:
        print(f"{path}: {'not generated from the catalogue' if args.check else 'written'}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
