"""`caseflag data release`: one citable folder with the whole list in every format, a changelog
against the previous release and checksums. The same data gives byte-identical files: the date
comes from the records (or --date), never from the clock."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from . import changelog
from ..data.dataset import Dataset
from ..core.errors import CaseflagError
from .export import EXPORT_FORMATS
from ..data.lint_records import parse_partial_date, record_dates
from ..data.records import KINDS
from .release_docs import DOC_FILES, write_docs
from .sqlite_export import write_sqlite

# File name -> export format; index.json is the extension's built-in index (`data export --format extension`).
EXPORT_FILES = {"caseflag.json": "json", "caseflag.jsonl": "jsonl", "caseflag.csv": "csv", "index.json": "extension"}
SQLITE_FILE, CHANGES_FILE, SUMS_FILE = "caseflag.sqlite", "CHANGES.md", "SHA256SUMS"
RELEASE_FILES = frozenset([*EXPORT_FILES, SQLITE_FILE, CHANGES_FILE, SUMS_FILE, *DOC_FILES])


class ReleaseError(CaseflagError):
    """The release cannot be written as asked (output folder, previous release, date)."""

    code = "release_error"


def release_date(dataset: Dataset) -> str:
    """The newest full date in the records (reviews, publications, case dates, ranges taken)."""
    records = [record for kind in KINDS for record in getattr(dataset, kind).values()]
    full = [value for record in records for _, value in record_dates(record)
            if isinstance(value, str) and len(value) == 10 and parse_partial_date(value)]
    if not full:
        raise ReleaseError("the records hold no full date to date the release by; give one with --date YYYY-MM-DD")
    return max(full)


def check_date(text: str) -> str:
    """--date as given, if it is a real YYYY-MM-DD date."""
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise ReleaseError(f"--date {text!r} is not a date; write YYYY-MM-DD, e.g. 2026-11-30")


def read_previous(folder: Path) -> tuple[dict[str, dict[str, dict]], str]:
    """The records of an earlier release (its caseflag.json, checked against its SHA256SUMS) and its version."""
    if not folder.is_dir():
        raise ReleaseError(f"--previous {folder}: no such folder")
    path = folder / "caseflag.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReleaseError(f"--previous {folder}: holds no caseflag.json, so it is not a caseflag release") from None
    except OSError as err:
        raise ReleaseError(f"{path}: cannot be read: {err.strerror}") from err
    expected = _listed_sum(folder / SUMS_FILE, path.name)
    if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
        raise ReleaseError(f"{path}: its checksum does not match {folder / SUMS_FILE}; the file changed "
                           "after that release was made")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ReleaseError(f"{path}: not UTF-8 text ({err.reason})") from err
    except json.JSONDecodeError as err:
        raise ReleaseError(f"{path}:{err.lineno}: not valid JSON: {err.msg}") from err
    try:
        records = {kind: {record["id"]: record for record in data[kind]} for kind in KINDS}
        version = str(data["dataset_version"])
    except (KeyError, TypeError) as err:
        raise ReleaseError(f"{path}:1: not a caseflag export: it needs dataset_version and lists of "
                           f"{', '.join(KINDS)} whose records have ids (missing {err})") from err
    return records, version


def _listed_sum(sums: Path, name: str) -> str | None:
    try:
        text = sums.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = (line.partition("  ") for line in text.splitlines())
    return next((digest for digest, _, listed in lines if listed == name), None)


def check_output(out: Path, previous: Path | None) -> None:
    """Refuse any output folder whose contents a release would destroy: a file, a folder holding
    anything but an earlier release's files, or the very release being compared with."""
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"-o {out}: is a file, not a folder")
    if previous is not None and out.exists() and out.resolve() == previous.resolve():
        raise ReleaseError(f"-o {out}: is the --previous release; write the new one to another folder")
    if out.is_dir():
        foreign = sorted(entry.name for entry in out.iterdir() if entry.name not in RELEASE_FILES)
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise ReleaseError(f"-o {out}: is not empty and holds more than a caseflag release ({shown}); "
                               "choose a new or empty folder")


def build_files(dataset: Dataset, staging: Path, date: str, previous: Path | None) -> list[str]:
    """Write every release file into staging; returns their names, sorted."""
    for name, fmt in EXPORT_FILES.items():
        with open(staging / name, "w", encoding="utf-8", newline="") as out:
            EXPORT_FORMATS[fmt](dataset, out)
    write_sqlite(dataset, staging / SQLITE_FILE, dataset.version, date)
    old, old_version = read_previous(previous) if previous is not None else (None, None)
    new = {kind: getattr(dataset, kind) for kind in KINDS}
    text = changelog.render(changelog.diff(old, new), version=dataset.version, date=date, old=old, new=new,
                            previous_version=old_version)
    (staging / CHANGES_FILE).write_bytes(text.encode("utf-8"))
    names = [*EXPORT_FILES, SQLITE_FILE, CHANGES_FILE]
    names += write_docs(dataset, staging, date, [*names, SUMS_FILE])
    sums = "".join(f"{hashlib.sha256((staging / name).read_bytes()).hexdigest()}  {name}\n" for name in sorted(names))
    (staging / SUMS_FILE).write_bytes(sums.encode("ascii"))
    return sorted([*names, SUMS_FILE])


def write_release(dataset: Dataset, out: str | Path, previous: str | Path | None = None,
                  date: str | None = None) -> list[str]:
    """Write the release folder `out`; returns the file names. Files are made in a staging folder
    beside it and moved in only when all are written, so a failure leaves `out` as it was."""
    out = Path(out)
    previous = Path(previous) if previous is not None else None
    date = check_date(date) if date else release_date(dataset)
    check_output(out, previous)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as err:
        raise ReleaseError(f"-o {out}: cannot create a folder there: {err.strerror}") from err
    try:
        names = build_files(dataset, staging, date, previous)
        out.mkdir(exist_ok=True)
        for stale in RELEASE_FILES - set(names):  # e.g. an index.json an older caseflag wrote
            (out / stale).unlink(missing_ok=True)
        for name in names:
            os.replace(staging / name, out / name)
    except OSError as err:
        raise ReleaseError(f"-o {out}: cannot write the release: {err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return names
