"""A batch's files: the input's items (text or CSV, a shard of it), the output (plain or .gz, whole
records only) and what an earlier run left in it (for --resume)."""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import os
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..exports.batchrecords import CSV_COLUMNS, csv_header
from ..core.errors import CaseflagError, InvalidInput

_TRAILING_COMMENT = re.compile(r"\s+#.*$")
_RANKED = re.compile(r"^\d+,([^,\s]+)$")  # a Tranco-style "rank,domain" line


@dataclass(frozen=True)
class Item:
    """One input line to check: its 1-based line number, its text, or why it cannot be read."""

    line: int
    text: str
    error: CaseflagError | None = None


def _decoded(number: int, raw: bytes) -> str | Item:
    if number == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        shown = raw.decode("utf-8", "backslashreplace").strip()
        return Item(number, shown, InvalidInput(
            f"line {number} is not UTF-8 text (byte {err.start + 1}: {err.reason})", field="line"))


def read_items(stream: IO[bytes], column: str | None = None) -> Iterator[Item]:
    """Items from a byte stream; blank lines and '#' comments (whole-line or after a space) skipped.

    A "rank,domain" line (a Tranco list) is its domain. With column, the input is CSV whose first
    row names the columns, and each later row's cell in that column is the item."""
    index = None
    for number, raw in enumerate(stream, start=1):
        text = _decoded(number, raw)
        if isinstance(text, Item):
            yield text
            continue
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        if column is None:
            ranked = _RANKED.match(text)
            yield Item(number, ranked.group(1) if ranked else _TRAILING_COMMENT.sub("", text))
            continue
        cells = next(csv.reader([text]))
        if index is not None:
            yield Item(number, cells[index].strip() if index < len(cells) else "")
        elif column in cells:
            index = cells.index(column)
        else:
            raise InvalidInput(f"line {number}: the CSV header has no column {column!r} "
                               f"(it has {', '.join(map(repr, cells))})")


def in_shard(items: Iterator[Item], shard: tuple[int, int] | None) -> Iterator[Item]:
    """Shard i of n: the items whose line number is i modulo n (numbers from 1); line numbers kept."""
    if shard is None:
        return items
    number, count = shard
    return (item for item in items if (item.line - 1) % count == number - 1)


def parse_shard(text: str) -> tuple[int, int]:
    """'2/8' → (2, 8); ValueError for anything else."""
    i, n = map(int, text.split("/"))
    if not 1 <= i <= n:
        raise ValueError(f"expected i/n with 1 ≤ i ≤ n, not {text!r}")
    return i, n


def open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as err:
        raise InvalidInput(f"cannot read the input {path}: {err.strerror or err}") from err


def is_gzip(path: str | None) -> bool:
    return bool(path) and path.lower().endswith(".gz")


class WriteFailed(CaseflagError):
    code = "write_failed"


class Output:
    """Where records go: standard output, a file, or a .gz file (one gzip member per write, so a
    file cut short by a full disk is cut back to whole records). Each write is whole records;
    a failed write is undone, and the output holds whole records only."""

    def __init__(self, path: str | None, append: bool) -> None:
        self.path, self.gz = path, is_gzip(path)
        self.size, self.failed = 0, False
        if path is None:
            self.fd = sys.stdout.fileno()
            sys.stdout.flush()
            return
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        try:
            self.fd = os.open(path, flags, 0o644)
        except OSError as err:
            raise InvalidInput(f"cannot write the output {path}: {err.strerror or err}") from err
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        if not data or self.failed:  # after a failed write nothing more is written
            return
        if self.gz:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except BrokenPipeError:
            raise
        except OSError as err:
            if self.path is None:
                raise WriteFailed(f"writing to standard output failed: {err.strerror or err}") from err
            os.ftruncate(self.fd, self.size)
            os.lseek(self.fd, self.size, os.SEEK_SET)
            self.failed = True
            raise WriteFailed(f"writing {self.path} failed: {err.strerror or err}; it holds whole records "
                              "only, up to the last one written: make room and run again with --resume") from err
        if self.path is not None:
            self.size += len(data)

    def close(self) -> None:
        if self.path is not None and self.fd is not None:
            os.close(self.fd)
            self.fd = None


# --- what an earlier run wrote -----------------------------------------------------------------

def _members(data: bytes) -> tuple[bytes, int]:
    """The text of a .gz file's whole gzip members, and where the last whole member ends."""
    text, offset = [], 0
    while offset < len(data):
        reader = zlib.decompressobj(31)
        try:
            part = reader.decompress(data[offset:])
        except zlib.error:
            break
        if not reader.eof:
            break
        text.append(part)
        offset = len(data) - len(reader.unused_data)
    return b"".join(text), offset


def read_output(path: Path) -> tuple[bytes, int]:
    """An output file's text and the length of its whole part (in the file's own bytes)."""
    data = path.read_bytes()
    return _members(data) if is_gzip(str(path)) else (data, len(data))


def parse_record(fmt: str, text: str) -> dict:
    """A written record back as a dict: the JSON line, or the CSV row by column."""
    if fmt == "jsonl":
        record = json.loads(text)
        int(record["line"]), str(record["query"])
        return record
    row = next(csv.reader([text]))
    return dict(zip(CSV_COLUMNS, row, strict=True))


def read_records(path: Path, fmt: str) -> list[tuple[bytes, dict]]:
    """Every whole record of an output file, as (its bytes, its fields). A last record cut short
    by a hard kill is cut off the file, once every whole line proved to be ours: a foreign file
    is refused untouched."""
    data, whole = read_output(path)
    lines = data.splitlines(keepends=True)
    tail = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
    records = []
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
            if fmt == "csv" and number == 1:
                if tuple(next(csv.reader([text]))) != CSV_COLUMNS:
                    raise ValueError("the header differs")
                continue
            records.append((raw, parse_record(fmt, text)))
        except (ValueError, TypeError, KeyError, StopIteration) as err:
            why = str(err) or type(err).__name__
            raise InvalidInput(f"{path}:{number} is not a record written by caseflag batch ({why}); "
                               "check --format or choose another --output") from err
    if tail or whole < path.stat().st_size:
        # a record starts with its line (compact, or spaced as earlier versions wrote it)
        looks_ours = tail.startswith(b'{"line":') if fmt == "jsonl" else (lines or csv_header().encode().startswith(tail))
        if not looks_ours:
            raise InvalidInput(f"{path} does not end with a record written by caseflag batch; "
                               "check --format or choose another --output")
        if is_gzip(str(path)):
            rewrite(path, [raw for raw, _ in records], fmt)
        else:
            os.truncate(path, len(data) - len(tail))
    return records


def rewrite(path: Path, records: list[bytes], fmt: str) -> None:
    """Replace an output file with these records (a header first for CSV), atomically."""
    body = (csv_header().encode() if fmt == "csv" else b"") + b"".join(records)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(gzip.compress(body, mtime=0) if is_gzip(str(path)) else body)
    os.replace(temporary, path)
