"""The data linter: every rule the curated list must keep, with file and line for each failure.

`caseflag data lint` prints each problem as `path:line: what is wrong — how to fix it`. The
dataset loader runs the same checks (lint_schema, lint_records, lint_domains) and refuses data
with a fatal problem, so what the linter passes is exactly what the server can serve.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from ..core.domains import default_suffix_list
from .lint_domains import DomainChecks
from .lint_records import ENTITY_LINKS, GERMAN_FIELDS, GERMAN_OPTIONAL, RecordChecks, parse_partial_date
from .lint_schema import (SCHEMA_FILES, compiled, fast_validators, inline_refs, reference_validators,
                          schema_dir_for, schema_problems)
from .records import KINDS, RawRecord, read_all

__all__ = ["ENTITY_LINKS", "GERMAN_FIELDS", "GERMAN_OPTIONAL", "SCHEMA_FILES", "Checker", "Problem", "check_and_index",
           "check_records", "inline_refs", "lint", "locate", "parse_partial_date", "schema_dir_for"]


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str
    fix: str
    # Fatal problems make the data unservable; the others are review rules.
    fatal: bool = True

    def format(self, relative_to: Path | None = None) -> str:
        path = self.path
        if relative_to is not None:
            with contextlib.suppress(ValueError):  # a path outside relative_to is shown as it is
                path = path.resolve().relative_to(relative_to.resolve())
        return f"{path}:{self.line}: {self.message} — {self.fix}"


def locate(text: str, keys: tuple = (), value: object = None) -> int:
    """Best line number for a value inside a TOML record, found by following its key path."""
    lines = text.splitlines()
    start = 0

    def first(pattern: str, skip: int = 0) -> int | None:
        """The line (counted from 0) of the pattern's match number skip + 1 from start on; None if none."""
        found = (number for number in range(start, len(lines)) if re.match(pattern, lines[number]))
        return next(islice(found, skip, None), None)

    keys = tuple(keys)
    for position, key in enumerate(keys):
        if not isinstance(key, str):
            continue
        name = re.escape(key)
        following = keys[position + 1] if position + 1 < len(keys) else None
        if isinstance(following, int):  # the following-th [[key]] table, else an inline `key = [...]`
            found = first(rf"^\s*\[\[\s*{name}\s*\]\]", following) if following >= 0 else None
            found = first(rf"^\s*{name}\s*=") if found is None else found
        else:
            found = first(rf"^\s*(\"?{name}\"?\s*=|\[\s*{name}\s*\])")
        start = start if found is None else found
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        needle = f'"{value}"' if isinstance(value, str) else str(value)
        start = next((number for number in range(start, len(lines)) if needle in lines[number]), start)
    return start + 1


class Checker(RecordChecks, DomainChecks):
    """Runs every rule over a set of records; collect problems with .run()."""

    def __init__(self, records: list[RawRecord], schema_dir: Path, today: dt.date | None = None,
                 strict_schemas: bool = False):
        self.records = records
        # strict: the schemas themselves checked against their metaschema before any record (the
        # linter); a load only needs them to compile, and imports jsonschema for a refused record.
        self.strict_schemas = strict_schemas
        self.schema_dir = schema_dir
        self.today = today or dt.date.today()
        self.problems: list[Problem] = []
        self.domain_index: dict[str, tuple] = {}  # filled by the domain claim check (see check_and_index)
        self.ids: dict[str, dict[str, RawRecord]] = {kind: {} for kind in KINDS}
        self._suffixes = default_suffix_list()

    def report(self, record: RawRecord, keys: tuple, message: str, fix: str, *, value=None, fatal=True):
        self.problems.append(Problem(record.path, locate(record.text, keys, value), message, fix, fatal))

    def run(self) -> list[Problem]:
        if self.strict_schemas:
            compiled(self.schema_dir, reference_validators)
        fast = compiled(self.schema_dir, fast_validators)
        valid: list[RawRecord] = []
        for record in self.records:
            if record.data is None:
                self.problems.append(
                    Problem(record.path, record.error_line or 1, record.error or "unreadable",
                            "fix the syntax so the file parses as TOML")
                )
                continue
            problems = schema_problems(record, fast[record.kind], self.schema_dir)
            for keys, message, fix, value in problems:
                self.report(record, keys, message, fix, value=value)
            if not problems:
                valid.append(record)
        for record in valid:
            self.check_id(record)
        for record in valid:
            self.check_record(record)
        self.check_domains([r for r in valid if r.kind == "entities"])
        return sorted(self.problems, key=lambda p: (str(p.path), p.line, p.message))


def check_records(records: list[RawRecord], data_dir: Path, today: dt.date | None = None,
                  strict_schemas: bool = False) -> list[Problem]:
    return Checker(records, schema_dir_for(data_dir), today, strict_schemas).run()


def check_and_index(records: list[RawRecord], data_dir: Path) -> tuple[list[Problem], dict[str, tuple]]:
    """check_records, and the domain index its claim check built on the way: every listed
    domain and alias -> (entity, alias relation or None). Only meaningful without fatal problems."""
    checker = Checker(records, schema_dir_for(data_dir))
    return checker.run(), checker.domain_index


def lint(data_dir: Path, today: dt.date | None = None) -> list[Problem]:
    """Every problem in the data folder, sorted by file and line."""
    data_dir = Path(data_dir)
    records = read_all(data_dir)
    problems = check_records(records, data_dir, today, strict_schemas=True)
    if not records:
        problems.insert(0, Problem(data_dir, 1, "no record files found",
                                   "point at a folder with entities/, cases/, sources/, providers/"))
    return problems
