"""Turn a court order's schedule of sites into linted records: `caseflag data import-order`.

The maintainer writes two files: the order (TOML: the case, its other parties, defaults for the
sites, and any new source or entity records) and the schedule (CSV: one site a row, with a
`name` and its `domains`). Each site becomes an entity with role `subject` (or `defendant`)
in the case; a site whose domains an entity already holds is that entity, and its file is left
as it is. Nothing is written unless the whole result passes the linter on a scratch copy of
data/; no existing file is ever replaced.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import tomli

from ..core.errors import CaseflagError
from .lint import Problem, lint
from .order_schedule import SITE_ROLES, ScheduleRow
from .records import normalise, read_all
from .toml_writer import dumps

REQUIRED_COLUMNS = ("name", "domains")
OPTIONAL_COLUMNS = ("id", "description", "description_de", "kind", "status", "jurisdiction",
                    "source_ids", "note", "aliases", "alias_relation", "alias_source_ids", "role")
ORDER_KEYS = {"case", "sites", "sources", "entities"}
SITE_DEFAULTS = {"kind", "status", "jurisdiction", "source_ids", "description", "note", "de",
                 "alias_relation", "ignore_columns", "role"}
# Words a draft leaves behind; a record holding one would pass the schema but say nothing true.
_PLACEHOLDER = re.compile(r"\b(todo|tbd|fixme|xxx|lorem ipsum|placeholder)\b", re.IGNORECASE)


class ImportRefused(CaseflagError):
    """The order or schedule has problems; nothing was written. Recoverable: fix and rerun."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing was written")
        self.problems = problems


@dataclass
class Plan:
    """What an import would do: files to write, existing entities it names, domains left out."""

    files: dict[Path, str] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def _holders(data_dir: Path) -> tuple[dict[str, str], dict[str, set]]:
    """The parts of data/ an import consults: who holds each domain, which ids each kind has."""
    owner: dict[str, str] = {}
    ids: dict[str, set] = {"entities": set(), "cases": set(), "sources": set()}
    for record in read_all(data_dir):
        if record.data is None or record.kind not in ids:
            continue
        ids[record.kind].add(record.stem)
        if record.kind == "entities":
            names = list(record.data.get("domains", []))
            names += [a.get("domain") for a in record.data.get("aliases", []) if isinstance(a, dict)]
            owner.update({name: record.stem for name in names if isinstance(name, str)})
    return owner, ids


class OrderImporter:
    """One import: reads the order and its schedule, collects every problem with its file and line,
    and plans the records to write (run)."""

    def __init__(self, order_path: Path, schedule_path: Path, data_dir: Path, today: dt.date) -> None:
        self.order_path, self.schedule_path, self.data_dir, self.today = order_path, schedule_path, data_dir, today
        self.problems: list[Problem] = []
        self.plan = Plan()
        # ids gains each record the import plans, so a later row or party can name it
        self.owner, self.ids = _holders(data_dir)
        self.order_text = ""

    def refuse(self, path: Path, line: int, message: str, fix: str) -> None:
        self.problems.append(Problem(path, line, message, fix))

    def run(self) -> Plan:
        order = self._read_order()
        if order is None:
            raise ImportRefused(self.problems)
        self._header_records(order, "sources")
        self._header_records(order, "entities")
        subjects = self._read_schedule(order.get("sites", {}))
        if not self.problems:
            self._case(order["case"], subjects)
        if self.problems:
            raise ImportRefused(self.problems)
        return self.plan

    def _read_order(self) -> dict | None:
        try:
            self.order_text = self.order_path.read_text(encoding="utf-8")
            order = tomli.loads(self.order_text)
        except (OSError, UnicodeDecodeError) as err:
            self.refuse(self.order_path, 1, f"cannot read the order: {err}", "give a UTF-8 TOML file")
            return None
        except tomli.TOMLDecodeError as err:
            self.refuse(self.order_path, err.lineno, f"not valid TOML: {err.msg}", "fix the TOML syntax")
            return None
        for key in sorted(set(order) - ORDER_KEYS):
            self.refuse(self.order_path, self._line_of(key), f"unknown table or key {key!r}",
                        f"use only {', '.join(sorted(ORDER_KEYS))}")
        if not isinstance(order.get("case"), dict):
            self.refuse(self.order_path, 1, "no [case] table", "describe the order's case in a [case] table")
            return None
        for key in sorted(set(order.get("sites", {})) - SITE_DEFAULTS):
            self.refuse(self.order_path, self._line_of(key), f"unknown key {key!r} in [sites]",
                        f"use only {', '.join(sorted(SITE_DEFAULTS))}")
        return order

    def _line_of(self, key: str) -> int:
        """The order's line where key is set or its table begins (1 when not found)."""
        match = re.search(rf"^\s*(\[+\s*)?{re.escape(key)}\b", self.order_text, re.MULTILINE)
        return self.order_text.count("\n", 0, match.start()) + 1 if match else 1

    def _header_records(self, order: dict, kind: str) -> None:
        """[[sources]] and [[entities]] of the order: written as they are, with last_reviewed."""
        for record in order.get(kind, []):
            record_id = record.get("id", "")
            line = self._line_of_value(record_id)
            if not record_id:
                self.refuse(self.order_path, line, f"a [[{kind}]] table without an id", "give each record its id")
                continue
            record.setdefault("last_reviewed", self.today)
            self.check_text(self.order_path, line, record)
            path = self.data_dir / kind / f"{record_id}.toml"
            if path.exists():
                if normalise(tomli.loads(path.read_text(encoding="utf-8"))) != normalise(record):
                    self.refuse(self.order_path, line, f"{path} exists and differs from the order's record",
                                "leave the record out of the order, or give it another id")
                continue
            self.plan.files[path] = dumps(record)
            self.ids[kind].add(record_id)

    def _line_of_value(self, value: str) -> int:
        """The order's line where value is first written as a string (1 when not found)."""
        at = self.order_text.find(f'"{value}"') if value else -1
        return self.order_text.count("\n", 0, at) + 1 if at >= 0 else 1

    def check_text(self, path: Path, line: int, record: dict, where: str = "") -> None:
        for key, value in _texts(record):
            if _PLACEHOLDER.search(value):
                self.refuse(path, line, f"{where}{key} reads like a placeholder: {value[:60]!r}",
                            "write the real text, in your own words")

    def _read_schedule(self, sites: dict) -> list[dict]:
        try:
            handle = self.schedule_path.open(encoding="utf-8-sig", newline="")
        except OSError as err:
            self.refuse(self.schedule_path, 1, f"cannot read the schedule: {err}", "give a CSV file")
            return []
        with handle:
            reader = csv.DictReader(handle)
            if not self._check_columns(reader.fieldnames or [], sites):
                return []
            subjects, seen = [], {}
            try:
                for row in reader:
                    subject = ScheduleRow(self, sites, row, reader.line_num, seen).resolve()
                    if subject:
                        subjects.append(subject)
            except (csv.Error, UnicodeDecodeError) as err:
                self.refuse(self.schedule_path, reader.line_num, f"not a readable CSV: {err}", "save it as UTF-8 CSV")
        return subjects

    def _check_columns(self, columns: list[str], sites: dict) -> bool:
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        ignored = set(sites.get("ignore_columns", []))
        unknown = [name for name in columns if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS and name not in ignored]
        if missing:
            self.refuse(self.schedule_path, 1, f"missing column(s): {', '.join(missing)}",
                        "the first row names the columns; name and domains are required")
        if unknown:
            self.refuse(self.schedule_path, 1, f"unknown column(s): {', '.join(unknown)}",
                        f"use {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}, or list the column in "
                        "[sites] ignore_columns")
        return not missing and not unknown

    def _case(self, case: dict, subjects: list[dict]) -> None:
        case = dict(case)
        case_id = case.get("id") or ""
        path = self.data_dir / "cases" / f"{case_id}.toml"
        if not case_id:
            self.refuse(self.order_path, self._line_of("case"), "[case] has no id", "give the case an id")
            return
        if path.exists():
            self.refuse(self.order_path, self._line_of_value(case_id), f"{path} exists already",
                        "an import never replaces a record: choose another case id, or edit the case by hand")
            return
        self.check_text(self.order_path, self._line_of("case"), case, "case ")
        parties = [dict(p) for p in case.pop("parties", [])] + subjects
        if not any(p.get("role") in SITE_ROLES for p in parties):
            self.refuse(self.schedule_path, 1, "the order names no site", "add one row per site, or name the "
                        "subject in the order's [[case.parties]]")
        ids = [p.get("entity_id") for p in parties]
        for twice in sorted({i for i in ids if ids.count(i) > 1}):
            self.refuse(self.order_path, self._line_of_value(twice), f"{twice} is a party twice",
                        "give each entity one role in the case")
        parties.sort(key=lambda p: p.get("entity_id", ""))
        cited = set(case.get("source_ids", [])).union(*(party.get("source_ids", []) for party in parties))
        for source_id in sorted(s for s in cited if s not in self.ids["sources"]):
            self.refuse(self.order_path, self._line_of_value(source_id), f"unknown source {source_id!r}",
                        "add it to data/sources/ or to the order's [[sources]]")
        case["source_ids"] = sorted(cited)
        case.setdefault("last_reviewed", self.today)
        tables = {key: case.pop(key) for key in ("de", "dates") if key in case}  # written in this order
        self.plan.files[path] = dumps({**case, **tables, "parties": parties})


def _texts(record: dict, prefix: str = ""):
    for key, value in record.items():
        if isinstance(value, str):
            yield prefix + key, value
        elif isinstance(value, dict):
            yield from _texts(value, f"{prefix}{key}.")


def import_order(order_path: Path, schedule_path: Path, data_dir: Path, *, today: dt.date | None = None,
                 dry_run: bool = False) -> tuple[Plan, list]:
    """Plan the records, lint them on a scratch copy of data_dir, then (unless dry_run) write them.

    Returns the plan and the linter's problems over data_dir afterwards. Raises ImportRefused,
    with every problem found, when the order or schedule is wrong or the result would not lint."""
    data_dir = Path(data_dir)
    plan = OrderImporter(Path(order_path), Path(schedule_path), data_dir, today or dt.date.today()).run()
    problems = _lint_with(plan, data_dir, today)
    if problems:
        raise ImportRefused(problems)
    if dry_run:
        return plan, []
    for path, text in plan.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:  # "x": an existing file is never replaced
            out.write(text)
    return plan, lint(data_dir, today)


def _lint_with(plan: Plan, data_dir: Path, today: dt.date | None) -> list[Problem]:
    """The linter's problems with the planned files added, on a scratch copy (paths shown as data_dir's)."""
    with tempfile.TemporaryDirectory(prefix="caseflag-import-") as scratch:
        copy = Path(scratch) / "data"
        shutil.copytree(data_dir, copy)
        for path, text in plan.files.items():
            target = copy / path.relative_to(data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        # every path the linter names is the copy or a file it read under it
        return [replace(p, path=data_dir / p.path.relative_to(copy)) for p in lint(copy, today)]
