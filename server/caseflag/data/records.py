"""Read the curated list's files (one TOML file per record) into plain dicts.

Only reading happens here: no checks beyond "is it TOML". The linter and the dataset
both start from these records, so a file is read once and judged by one set of rules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import tomli  # tomllib's own source, in compiled wheels: ~3x faster on a big dataset

KINDS = ("entities", "cases", "sources", "providers")


@dataclass
class RawRecord:
    """One data file: where it is, its text, and its parsed content (None when unparseable)."""

    kind: str
    path: Path
    text: str
    data: dict | None
    error: str | None = None
    error_line: int | None = None

    @property
    def stem(self) -> str:
        return self.path.stem


_TIMES = (dt.date, dt.datetime, dt.time)
# Types normalise gives back as they are: a list holding only these is returned itself.
_KEPT = frozenset({str, int, float, bool})


def normalise(value):
    """TOML dates and times become ISO strings, recursively, so records are plain JSON.

    A list with nothing to change in it (no date, table or list) is returned itself, not a copy."""
    kind = type(value)
    if kind is dict:
        # Most values are strings (names, ids, text): skip the call for each of them.
        return {key: item if type(item) is str else normalise(item) for key, item in value.items()}
    if kind is list:
        # Most lists hold only strings (domains, source ids): told by their items' types in one
        # C-level pass, not a Python loop over them (a million in a big load).
        if _KEPT.issuperset(map(type, value)):
            return value
        return [item if type(item) is str else normalise(item) for item in value]
    # tomli makes only plain dicts and lists (and order_import's records are built of them)
    return value.isoformat() if isinstance(value, _TIMES) else value


def read_file(kind: str, path: Path) -> RawRecord:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return RawRecord(kind, path, "", None, f"cannot read the file as UTF-8: {err}", 1)
    try:
        data = normalise(tomli.loads(text))
    except tomli.TOMLDecodeError as err:
        # an error "at end of document" names no line (the problem is then shown at line 1)
        line = err.lineno if err.pos < len(err.doc) else None
        return RawRecord(kind, path, text, None, f"not valid TOML: {err}", line)
    return RawRecord(kind, path, text, data)


def data_files(data_dir: Path) -> list[tuple[str, Path]]:
    """Every record file under data_dir, as (kind, path), in a stable order."""
    return [(kind, path) for kind in KINDS for path in sorted((data_dir / kind).glob("*.toml"))]


def read_all(data_dir: Path) -> list[RawRecord]:
    return [read_file(kind, path) for kind, path in data_files(Path(data_dir))]


def content_version(records: list[RawRecord], data_dir: Path) -> str:
    """A short hash of every record file's path and bytes: the dataset version."""
    digest = hashlib.sha256()
    prefix = os.path.join(str(data_dir), "")
    for record in records:
        path = str(record.path)
        if os.sep == "/" and path.startswith(prefix):  # what relative_to gives, without pathlib's cost
            digest.update(path[len(prefix):].encode())
        else:
            digest.update(record.path.relative_to(data_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(record.text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]
