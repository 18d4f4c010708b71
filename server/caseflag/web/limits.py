"""The bounds on what a client may send, and a JSON reader that keeps them.

Every bound here is listed in the README's limits section. A request over one is refused in the
one error shape (errors.py), never answered with a 500.
"""

from __future__ import annotations

import json
import re

from ..core.errors import CaseflagError, InvalidInput, TooLarge

# Levels of arrays and objects in a request body: {"domains": [...]} needs two.
MAX_JSON_DEPTH = 8
# Object keys in a whole request body (a check request has one).
MAX_JSON_KEYS = 64
# A language tag (BCP 47 allows 35 characters for the tags in use): letters, then -subtags.
MAX_LANG_LENGTH = 35
_LANG_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
# The characters that open, close or escape something in JSON text; everything else is skipped.
_JSON_STRUCTURE = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)
_DEPTH_CHANGE = {b"[": 1, b"{": 1, b"]": -1, b"}": -1}


class BodyTimeout(CaseflagError):
    """A request body stopped arriving (raised while the app reads it; `caseflag serve`'s worker
    bounds the wait, see commands/gunicorn_worker.py)."""

    status = 408
    code = "request_timeout"


class BodyBusy(CaseflagError):
    """A request body has yet to arrive and every thread allowed to wait for one is waiting."""

    status = 503
    code = "unavailable"


def language(value: str | None) -> str | None:
    """A `lang` parameter: a language tag, or None when absent or empty; InvalidInput otherwise."""
    if not value:
        return None
    if len(value) > MAX_LANG_LENGTH or not _LANG_TAG.fullmatch(value):
        raise InvalidInput(f"lang must be a language tag such as de or pt-BR, at most {MAX_LANG_LENGTH} "
                           "characters", field="lang")
    return value


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in JSON text (brackets inside strings do not count).

    Linear in the length: one step per quote, bracket or escape, so a hostile body costs no more
    than its size; the size itself is bounded before this is called.
    """
    depth = deepest = 0
    in_string = False
    for token in _JSON_STRUCTURE.finditer(raw):
        char = token.group()
        if char == b'"':
            in_string = not in_string
        elif not in_string and len(char) == 1:
            depth += _DEPTH_CHANGE[char]
            deepest = max(deepest, depth)
    return deepest


def load_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH, max_keys: int = MAX_JSON_KEYS) -> object:
    """Parse a request body within the bounds; InvalidInput or TooLarge in the one error shape.

    The depth is checked before parsing: Python's decoder recurses once per level, and a deep
    enough body ends in RecursionError. Strings must be text (a lone surrogate escape is not).
    """
    try:
        raw.decode("utf-8")  # RFC 8259: JSON between systems is UTF-8; the depth scan relies on it
    except UnicodeDecodeError as err:
        raise InvalidInput(f"The body is not UTF-8 text (byte {err.start + 1}).", field="body") from err
    if json_depth(raw) > max_depth:
        raise InvalidInput(f"The JSON body nests arrays and objects deeper than {max_depth} levels.", field="body")
    keys = 0

    def count_keys(pairs: list[tuple[str, object]]) -> dict:
        nonlocal keys
        keys += len(pairs)
        if keys > max_keys:
            raise TooLarge(f"The JSON body has more than {max_keys} object keys.", field="body")
        return dict(pairs)

    def no_constant(name: str):
        # Python's decoder takes NaN, Infinity and -Infinity, which JSON (RFC 8259) does not have.
        raise InvalidInput(f"The body holds {name}, which is not JSON (RFC 8259 has no NaN or Infinity).",
                           field="body")

    try:
        value = json.loads(raw, object_pairs_hook=count_keys, parse_constant=no_constant)
    except (ValueError, RecursionError) as err:
        first_line = str(err).partition("\n")[0][:200]
        raise InvalidInput(f"The body is not valid JSON ({first_line}).", field="body") from err
    try:  # every string, keys too, must encode as UTF-8: "\\ud800" is valid JSON syntax but not text
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidInput("The JSON body holds a lone surrogate escape (like \\ud800), which is not text.",
                           field="body") from err
    return value
