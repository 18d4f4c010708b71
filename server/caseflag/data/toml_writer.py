"""Write a record (a dict) as TOML in the layout the data files use.

Only what records hold: strings, integers, booleans, dates, lists of those, tables and arrays
of tables. Plain keys first, then tables, then arrays of tables, so a written file reads like a
hand-written one and every reader of TOML 1.0 parses it back to the same dict.
"""

from __future__ import annotations

import datetime as dt
import json
import re

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_WIDTH = 100


def dumps(record: dict) -> str:
    """The record as TOML text, ending in a newline."""
    return "\n".join(_body(record, ())).strip("\n") + "\n"


def _body(table: dict, path: tuple) -> list[str]:
    plain = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)}
    lines = [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    for key, sub in table.items():
        if isinstance(sub, dict):
            lines += ["", f"[{_dotted(path + (key,))}]"] + _body(sub, path + (key,))
    for key, items in table.items():
        for item in items if _is_table_array(items) else ():
            lines += ["", f"[[{_dotted(path + (key,))}]]"] + _body(item, path + (key,))
    return lines


def _is_table_array(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _dotted(path: tuple) -> str:
    return ".".join(_key(part) for part in path)


def _string(text: str) -> str:
    # A JSON string is a TOML basic string for every character a record holds (JSON's escapes
    # are a subset of TOML's); ensure_ascii=False keeps German text readable in the file.
    return json.dumps(text, ensure_ascii=False)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        items = [_value(item) for item in value]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= _WIDTH:
            return one_line
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} as TOML")
