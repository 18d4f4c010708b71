"""The one message catalogue: every sentence caseflag says, in every language it speaks.

A reason or an error is data, a code and its parameters (`{"code": "belongs_to", "params": {...}}`);
the words live in ``messages/<language>.json`` and nowhere else. The server renders them here, and
the extension renders the same catalogue (carried in its built-in index and generated into its
``_locales``) with the same few rules, so both say the same thing in the same words.

A message is text with placeholders:
  ``{name}``          the parameter's value;
  ``{name|section}``  the message ``section.<value>`` rendered with the same parameters: a missing
                      value reads ``none``, a number its digits when that key exists and ``n``
                      otherwise, and a list of objects each item by ``section.<item's kind>``,
                      joined with "; ".
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

CATALOGUE_DIR = Path(__file__).with_name("messages")
DEFAULT_LANGUAGE = "en"
_PLACEHOLDER = re.compile(r"\{(\w+)(?:\|(\w+))?\}")


@lru_cache(maxsize=1)
def catalogues() -> dict[str, dict[str, str]]:
    """Every language's messages, by language code (the file's name)."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(CATALOGUE_DIR.glob("*.json"))}


def languages() -> tuple[str, ...]:
    """The catalogue's languages, the default first (what Accept-Language is matched against)."""
    return (DEFAULT_LANGUAGE, *sorted(set(catalogues()) - {DEFAULT_LANGUAGE}))


def language_of(lang: str | None) -> str:
    """The catalogue language for a requested tag ("de-AT" -> "de"); English when there is none."""
    primary = (lang or "").replace("_", "-").split("-")[0].lower()
    return primary if primary in catalogues() else DEFAULT_LANGUAGE


def render(code: str, params: dict, lang: str | None = None) -> str:
    """The message `code` in `lang`, its placeholders filled from `params`."""
    messages = catalogues()[language_of(lang)]
    return _fill(messages.get(code) or catalogues()[DEFAULT_LANGUAGE][code], params, messages)


def _fill(text: str, params: dict, messages: dict[str, str]) -> str:
    def one(found: re.Match) -> str:
        name, section = found.group(1), found.group(2)
        value = params.get(name)
        if section is None:
            return "" if value is None else str(value)
        if isinstance(value, list):
            return "; ".join(_fill(_term(messages, section, item["kind"]), {**params, **item}, messages)
                             for item in value)
        return _fill(_term(messages, section, value), params, messages)

    return _PLACEHOLDER.sub(one, text)


def _term(messages: dict[str, str], section: str, value) -> str:
    if value is None:
        key = "none"
    elif isinstance(value, int) and not isinstance(value, bool):
        key = str(value) if f"{section}.{value}" in messages else "n"
    else:
        key = str(value)
    key = f"{section}.{key}"
    return messages[key] if key in messages else catalogues()[DEFAULT_LANGUAGE].get(key, str(value))


def explain(code: str, **params) -> dict:
    """One explanation: {"code", "params"} (the API's `verdict.explanations` items)."""
    return {"code": code, "params": params}
