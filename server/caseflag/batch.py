"""`caseflag batch`: check a file of domains with the service's async path, one record per input line.

Records come out in input order (a bounded window of lookups runs ahead of the writer), each
carrying its input line number. Output holds whole records only, so an interrupted run can be
continued with --resume; the CSV row shape here is also what `/api/v1/check?format=csv` sends.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import errno
import gc
import io
import json
import os
import re
import select
import shutil
import signal
import stat
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .errors import CaseflagError, InvalidInput
from .lookup import LookupService
from .verdict import answer_wire_parts

CSV_COLUMNS = ("input", "hostname", "registrable_domain", "level", "entities", "providers", "cases",
               "infrastructure_status", "reason", "line", "error")
DEFAULT_CONCURRENCY = 200
MAX_CONCURRENCY = 2000
MAX_JOBS = 64
# --jobs auto: a process per usable core, at most this many, for an input file of at least
# AUTO_JOBS_FROM bytes (~2,000 names); below that one process is done before more would pay.
AUTO_JOBS_MAX = 4
AUTO_JOBS_FROM = 32 * 1024
_TRAILING_COMMENT = re.compile(r"\s+#.*$")


# --- rows: shared with the API's ?format=csv ---------------------------------------------

def verdict_row(result: dict, line: int | None = None) -> dict[str, str]:
    """One CSV row for a check result or an inline error; lists are joined with ';'."""
    row = dict.fromkeys(CSV_COLUMNS, "")
    row["input"] = result.get("query", "")
    row["line"] = "" if line is None else str(line)
    if "error" in result:
        row["error"] = result["error"]["code"]
        row["reason"] = result["error"]["message"]
        return row
    matches = result["matches"]
    infrastructure = result["infrastructure"]
    level = result["verdict"]["level"]
    case_lists = [match["cases"] for match in matches]
    if level == "related":  # the cases that tie the site, through the entities related to its own
        case_lists += [other["cases"] for match in matches for other in match.get("related", [])]
    row.update(
        hostname=result["hostname"],
        registrable_domain=result["registrable_domain"] or "",
        level=level,
        entities=";".join(match["entity"]["id"] for match in matches),
        providers=";".join(provider["id"] for provider in infrastructure["providers"]),
        cases=";".join(dict.fromkeys(case["id"] for cases in case_lists for case in cases)),
        infrastructure_status=infrastructure["status"],
        # Reasons are sentences that may hold ';' themselves: one paragraph, not a list to split.
        reason=" ".join(result["verdict"]["reasons"]),
    )
    return row


def csv_text(results: list[dict]) -> str:
    """A whole CSV document (header and one row per result, numbered from 1)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for number, result in enumerate(results, start=1):
        writer.writerow(verdict_row(result, number))
    return buffer.getvalue()


# --- input --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One input line to check: its 1-based line number, its text, or why it cannot be read."""

    line: int
    text: str
    error: CaseflagError | None = None

    @property
    def key(self) -> tuple[int, str]:
        return (self.line, self.text)


def read_items(stream: IO[bytes]) -> Iterator[Item]:
    """Items from a byte stream; blank lines and '#' comments (whole-line or after a space) skipped."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            shown = raw.decode("utf-8", "backslashreplace").strip()
            yield Item(number, shown, InvalidInput(
                f"line {number} is not UTF-8 text (byte {err.start + 1}: {err.reason})", field="line"))
            continue
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        yield Item(number, _TRAILING_COMMENT.sub("", text))


def open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as err:
        raise InvalidInput(f"cannot read the input {path}: {err.strerror or err}") from err


def count_items(path: str) -> int | None:
    """How many items a regular file holds (for the progress bar); None for pipes and stdin."""
    if path == "-" or not Path(path).is_file():
        return None
    with open(path, "rb") as stream:
        return sum(1 for _ in read_items(stream))


# --- output formats -----------------------------------------------------------------------

def format_record(fmt: str, item: Item, result: dict) -> str:
    """One record as the text written for it: a JSON line or a CSV row, newline included."""
    return b"".join(record_wire(fmt, item, result)).decode("utf-8")


def record_wire(fmt: str, item: Item, result: dict) -> list[bytes]:
    """format_record's bytes in pieces, handed with the other records of one write to writev."""
    if fmt == "jsonl":
        parts = answer_wire_parts(result, line=item.line)
        parts.append(b"\n")
        return parts
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=CSV_COLUMNS).writerow(verdict_row(result, item.line))
    return [buffer.getvalue().encode("utf-8")]


_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024) if hasattr(os, "sysconf") and "SC_IOV_MAX" in os.sysconf_names else 16


def write_parts(fd: int, parts: list[bytes]) -> None:
    """Every byte of parts to fd, in order, in as few system calls as it allows (writev)."""
    for start in range(0, len(parts), _IOV_MAX):
        chunk = parts[start:start + _IOV_MAX]
        written = _retry_blocked(os.writev, fd, chunk)
        if written < sum(map(len, chunk)):  # a short write (a signal, a full pipe): the rest in order
            rest = memoryview(b"".join(chunk))[written:]
            while rest:
                rest = rest[_retry_blocked(os.write, fd, rest):]


def _retry_blocked(write, fd: int, data) -> int:
    """write(fd, data), waiting for room where fd is non-blocking (a standard output set so by another program)."""
    while True:
        try:
            return write(fd, data)
        except BlockingIOError:
            select.select([], [fd], [])


def _parts_writer(out: IO[str]):
    """How records reach `out`: as bytes straight to its file descriptor, or as text where it has
    none (a StringIO). What its text layer already holds (a CSV header) goes first."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        def write_text(parts: list[bytes]) -> None:
            out.write(b"".join(parts).decode("utf-8"))
            out.flush()

        return write_text
    out.flush()
    return lambda parts: write_parts(fd, parts)


def csv_header() -> str:
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=CSV_COLUMNS).writeheader()
    return buffer.getvalue()


def done_keys(path: Path, fmt: str) -> set[tuple[int, str]]:
    """(line, input) of every record already in an output file, for --resume.

    Read line by line; a last record cut short by a hard kill is removed, but only once every
    whole line has proved to be ours, so a foreign file is refused untouched.
    """
    keys: set[tuple[int, str]] = set()
    complete, tail = 0, b""
    with open(path, "rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.endswith(b"\n"):
                tail = raw
                break
            key = _record_key(fmt, raw, number, path)
            if key is not None:
                keys.add(key)
            complete += len(raw)
    if tail:
        if not _partial_record(fmt, tail, complete):
            raise InvalidInput(f"{path} does not end with a record written by caseflag batch; "
                               "check --format or choose another --output")
        os.truncate(path, complete)
    return keys


def _foreign(path: Path, number: int, why: str) -> InvalidInput:
    return InvalidInput(f"{path}:{number} is not a record written by caseflag batch ({why}); "
                        "check --format or choose another --output")


def _record_key(fmt: str, raw: bytes, number: int, path: Path) -> tuple[int, str] | None:
    """The (line, input) of one whole output line; None for the CSV header."""
    try:
        text = raw.decode("utf-8")
        if fmt == "jsonl":
            record = json.loads(text)
            return int(record["line"]), str(record["query"])
        row = next(csv.reader([text]))
        if number == 1:
            if tuple(row) != CSV_COLUMNS:
                raise ValueError("the header differs")
            return None
        values = dict(zip(CSV_COLUMNS, row, strict=True))
        return int(values["line"]), values["input"]
    except (ValueError, TypeError, KeyError, StopIteration) as err:
        raise _foreign(path, number, str(err) or type(err).__name__) from err


def _partial_record(fmt: str, tail: bytes, complete: int) -> bool:
    """Whether an unterminated last line looks like the start of one of our records."""
    if fmt == "jsonl":
        return tail.startswith(b'{"line": ')
    return complete > 0 or csv_header().encode().startswith(tail)


# --- counting and progress ----------------------------------------------------------------

@dataclass
class Tally:
    """What one run wrote: records by level, provider, infrastructure status and error code."""

    records: int = 0
    skipped: int = 0
    levels: Counter = field(default_factory=Counter)
    providers: Counter = field(default_factory=Counter)
    infrastructure: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    def add(self, result: dict) -> None:
        self.records += 1
        if "error" in result:
            self.errors[result["error"]["code"]] += 1
            return
        self.levels[result["verdict"]["level"]] += 1
        self.infrastructure[result["infrastructure"]["status"]] += 1
        for provider in result["infrastructure"]["providers"]:
            self.providers[provider["id"]] += 1

    def add_key(self, key: str) -> None:
        """add() for a result known by its tally_key (what a --jobs worker sends with each record)."""
        self.records += 1
        if key.startswith("!"):
            self.errors[key[1:]] += 1
            return
        level, status, providers = key.split("\t")
        self.levels[level] += 1
        self.infrastructure[status] += 1
        for provider_id in filter(None, providers.split(",")):
            self.providers[provider_id] += 1


def _counts(counter: Counter) -> str:
    return " · ".join(f"{key} {value:,}" for key, value in counter.most_common()) or "none"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def progress_line(tally: Tally, total: int | None, elapsed: float, width: int = 120) -> str:
    """The progress bar's text: done/total, rate, ETA and counts by level, cut to the width."""
    done = tally.records + tally.skipped
    rate = tally.records / elapsed if elapsed > 0 else 0.0
    parts = [f"{done:,}/{total:,} ({done * 100 // max(total, 1)}%)" if total else f"{done:,} done"]
    parts.append(f"{rate:,.0f}/s")
    if total and rate > 0:
        parts.append(f"ETA {_duration(max(total - done, 0) / rate)}")
    levels = " ".join(f"{level} {tally.levels[level]:,}" for level in ("target", "party", "related", "infrastructure", "none"))
    parts.append(f"{levels} errors {sum(tally.errors.values()):,}")
    return "  ".join(parts)[: max(width - 1, 10)]


class Progress:
    """A single line on stderr, redrawn in place with '\\r' at most ten times a second."""

    def __init__(self, stream: IO[str], total: int | None, enabled: bool) -> None:
        self.stream, self.total, self.enabled = stream, total, enabled
        self.started = time.monotonic()
        self._drawn = 0.0

    def update(self, tally: Tally, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._drawn < 0.1):
            return
        self._drawn = now
        width = shutil.get_terminal_size((120, 24)).columns
        self.stream.write("\r\x1b[K" + progress_line(tally, self.total, now - self.started, width))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def summary_text(tally: Tally, elapsed: float, target: str, interrupted: bool, jobs: int = 1) -> str:
    rate = tally.records / elapsed if elapsed > 0 else 0.0
    processes = f", {jobs} processes" if jobs > 1 else ""
    lines = [f"caseflag batch: {tally.records:,} records in {elapsed:.1f} s ({rate:,.0f}/s{processes}) written to {target}"]
    if interrupted:
        lines.append("  interrupted: the output holds whole records only; run again with --resume to continue")
    lines.append(f"  by level:       {_counts(tally.levels)}")
    lines.append(f"  by provider:    {_counts(tally.providers)}")
    lines.append(f"  infrastructure: {_counts(tally.infrastructure)}")
    errors = sum(tally.errors.values())
    lines.append(f"  errors:         {errors:,}" + (f" ({_counts(tally.errors)})" if errors else ""))
    if tally.skipped:
        lines.append(f"  skipped:        {tally.skipped:,} already in {target} (--resume)")
    return "\n".join(lines) + "\n"


# --- the run ------------------------------------------------------------------------------

_END = object()


def _inline_reader(items: Iterator[Item]):
    """The next item straight from a regular file, in the event loop (such reads never stall)."""

    async def next_item():
        try:
            return next(items, _END)
        except OSError as err:
            return InvalidInput(f"reading the input failed: {err}")

    return next_item


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may run on (taskset, a container's cpuset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def auto_jobs(source: IO[bytes]) -> int:
    """How many processes --jobs auto (the default) runs: one per usable core, up to AUTO_JOBS_MAX,
    for a regular file of AUTO_JOBS_FROM bytes or more; one for anything else. A batch is CPU-bound
    in Python, so a second core nearly doubles its pace (see bench/RESULTS.md, P3)."""
    try:
        info = os.fstat(source.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return 1
    if not stat.S_ISREG(info.st_mode) or info.st_size < AUTO_JOBS_FROM:
        return 1  # (without os.fork, run_batch runs one process whatever this says)
    return max(1, min(usable_cores(), AUTO_JOBS_MAX))


def _is_regular_file(stream: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


class BatchRun:
    """Checks every item of an input stream and writes one record each, in input order.

    At most ``concurrency`` lookups run at once and at most twice that many finished or
    running records wait for the writer, so memory stays bounded however long the input.
    """

    def __init__(self, service: LookupService, out: IO[str], fmt: str, *, concurrency: int = DEFAULT_CONCURRENCY,
                 lang: str | None = None, offline: bool = False, skip: set[tuple[int, str]] | None = None,
                 progress: Progress | None = None) -> None:
        self.service, self.out, self.fmt = service, out, fmt
        self.concurrency, self.lang, self.offline = max(1, concurrency), lang, offline
        self.skip = skip or set()
        self.progress = progress or Progress(sys.stderr, None, enabled=False)
        self.tally = Tally()
        self._head: tuple[Item, asyncio.Task] | None = None  # the record the writer is waiting for
        self._session = None  # the DNS sockets of the run, open while it lasts
        self._write_parts = None  # made at the first write (see _parts_writer)

    def run(self, items: Iterator[Item], blocking_input: bool = True) -> None:
        """Blocking. Ctrl-C stops after the records already written and raises KeyboardInterrupt.

        blocking_input: the input may keep us waiting (a pipe, a terminal), so a thread reads it;
        a regular file is read in the event loop, a line whenever there is room for one.
        """
        # The cyclic GC's full passes walked every object of the start-up (the dataset, the
        # suffix list) again and again, a tenth of a batch's CPU: those are set aside for the
        # run, and the young generation is collected less often (a record's objects are freed
        # by reference counting; what cycles there are wait a little longer).
        threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
        try:
            asyncio.run(self._run(items, blocking_input))
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()

    async def _run(self, items: Iterator[Item], blocking_input: bool = True) -> None:
        loop = asyncio.get_running_loop()
        # ASN lookups run in threads (ipwhois is blocking); give them room to match the concurrency.
        loop.set_default_executor(ThreadPoolExecutor(max_workers=min(64, self.concurrency)))
        window = 2 * self.concurrency
        stop = threading.Event()
        next_item = self._reader_thread(items, window, stop) if blocking_input else _inline_reader(items)
        pending: asyncio.Queue = asyncio.Queue(maxsize=window)
        gate = asyncio.Semaphore(self.concurrency)
        async with self.service.session() as session:  # one socket per nameserver for the run
            self._session = session
            try:
                await asyncio.gather(self._start(next_item, pending, gate), self._write(pending))
            finally:
                stop.set()
                await self._wind_down(pending)

    def _reader_thread(self, items: Iterator[Item], window: int, stop: threading.Event):
        """Start the reader thread; returns the coroutine function that takes its next item."""
        lines: asyncio.Queue = asyncio.Queue()
        room = threading.Semaphore(window)
        threading.Thread(target=self._read, args=(items, asyncio.get_running_loop(), lines, room, stop),
                         daemon=True).start()

        async def next_item():
            item = await lines.get()
            if isinstance(item, Item):
                room.release()
            return item

        return next_item

    def _read(self, items: Iterator[Item], loop, lines: asyncio.Queue, room: threading.Semaphore,
              stop: threading.Event) -> None:
        """Reader thread: a slow pipe on stdin must never block the event loop's DNS timers."""
        try:
            for item in items:
                while not room.acquire(timeout=0.5):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                loop.call_soon_threadsafe(lines.put_nowait, item)
        except OSError as err:
            loop.call_soon_threadsafe(lines.put_nowait, InvalidInput(f"reading the input failed: {err}"))
        except RuntimeError:  # the loop closed under us: the run is over
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under us: the run is over
            loop.call_soon_threadsafe(lines.put_nowait, _END)

    async def _start(self, next_item, pending: asyncio.Queue, gate: asyncio.Semaphore) -> None:
        while True:
            item = await next_item()
            if isinstance(item, CaseflagError):
                raise item
            if item is _END:
                await pending.put(_END)
                return
            if item.key in self.skip:
                self.tally.skipped += 1
                continue
            if item.error is not None:
                await pending.put((item, asyncio.create_task(self._check(item))))
                continue
            # A lookup starts once there is room for it, so no more than `concurrency` tasks
            # exist: thousands of tasks queued on one semaphore cost a scan of its waiters
            # every time one of them finished.
            await gate.acquire()
            task = asyncio.create_task(self._check(item))
            task.add_done_callback(lambda _: gate.release())
            await pending.put((item, task))

    async def _check(self, item: Item) -> dict:
        if item.error is not None:
            return {"query": item.text, **item.error.to_dict(), "status": item.error.status}
        try:
            return await self.service.check_one_async(item.text, self.lang, self.offline, self._session)
        except Exception as err:  # noqa: BLE001 - one failing lookup must not end a 20,000-line run
            error = {"code": "internal_error", "message": f"the check failed: {err!r}"}
            return {"query": item.text, "error": error, "status": 500}

    async def _write(self, pending: asyncio.Queue) -> None:
        entry = await pending.get()
        while entry is not _END:
            self._head = entry
            item, task = entry
            ready = [(item, await task)]
            self._head = None
            # The records behind it that are finished too go out in the same write.
            entry = None
            while not pending.empty():
                entry = pending.get_nowait()
                if entry is _END or not entry[1].done() or entry[1].cancelled():
                    self._head = entry if entry is not _END else None  # next: still seen by _wind_down
                    break
                ready.append((entry[0], entry[1].result()))
                entry = None
            self._emit_all(ready)
            if entry is None:
                entry = await pending.get()

    def _emit(self, item: Item, result: dict) -> None:
        self._emit_all([(item, result)])

    def _emit_all(self, records: list[tuple[Item, dict]]) -> None:
        # One write of whole records: the file never ends inside a record we chose to write.
        if self._write_parts is None:
            self._write_parts = _parts_writer(self.out)
        parts: list[bytes] = []
        for item, result in records:
            parts += record_wire(self.fmt, item, result)
        self._write_parts(parts)
        for _, result in records:
            self.tally.add(result)
        self.progress.update(self.tally)

    async def _wind_down(self, pending: asyncio.Queue) -> None:
        """After an interruption: write what already finished, in order up to the first gap; cancel the rest."""
        leftover = [self._head] if self._head is not None else []
        while not pending.empty():
            entry = pending.get_nowait()
            if entry is not _END:
                leftover.append(entry)
        writing = True
        for item, task in leftover:
            if writing and task.done() and not task.cancelled():
                try:
                    self._emit(item, task.result())
                    continue
                except BrokenPipeError:
                    pass
            writing = False
            task.cancel()
        await asyncio.gather(*(task for _, task in leftover), return_exceptions=True)


# --- several processes ----------------------------------------------------------------------
#
# With --jobs N and a regular input file, N forked workers share the lines: the k-th line to
# check (after --resume's skips) goes to worker k mod N. Each worker runs a BatchRun on its
# share with 1/N of the concurrency and sends its records, in its own input order, through a
# pipe as frames; the parent writes them in the global order by taking the next frame from
# worker 0, 1, …, N-1, 0, … in turn. So the output is the one process's, record for record
# (only `cached`, for a name that repeats, may differ: the workers do not share a cache).
#
# The parent reads only each frame's header and tally key; the record's bytes go from the pipe
# to the output by splice(2), inside the kernel. Copied through the parent (read, buffer, slice,
# join, write), they cost it a core's third on a 2-core machine, taken from the workers.

_FRAME = struct.Struct("<II")  # a frame's header: the lengths of its tally key and of its record


def tally_key(result: dict) -> str:
    """What Tally.add reads of a result, as one short line: the parent counts with it (add_key)."""
    if "error" in result:
        return "!" + result["error"]["code"]
    infrastructure = result["infrastructure"]
    providers = ",".join(provider["id"] for provider in infrastructure["providers"])
    return f"{result['verdict']['level']}\t{infrastructure['status']}\t{providers}"


class _WorkerRun(BatchRun):
    """A worker's BatchRun: each record goes to the parent's pipe as a frame instead of to the output."""

    def __init__(self, service, pipe: int, fmt: str, **options) -> None:
        super().__init__(service, None, fmt, **options)
        self.pipe = pipe

    def _emit_all(self, records: list[tuple[Item, dict]]) -> None:
        parts: list[bytes] = []
        for item, result in records:
            data = record_wire(self.fmt, item, result)
            key = tally_key(result).encode("utf-8")
            parts += (_FRAME.pack(len(key), sum(map(len, data))), key, *data)
        write_parts(self.pipe, parts)
        for _, result in records:
            self.tally.add(result)


def _share(items: Iterator[Item], skip: set, number: int, jobs: int) -> Iterator[Item]:
    index = 0
    for item in items:
        if item.key in skip:
            continue
        if index % jobs == number:
            yield item
        index += 1


def _worker(service, path: str, fmt: str, concurrency: int, lang, offline: bool, skip: set, number: int,
            jobs: int, pipe: int) -> int:
    """A forked worker's whole life; its exit status is returned to os._exit."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    run = _WorkerRun(service, pipe, fmt, concurrency=concurrency, lang=lang, offline=offline)
    try:
        with open(path, "rb") as source:
            run.run(_share(read_items(source), skip, number, jobs), blocking_input=False)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except BaseException as err:  # noqa: BLE001 - reported by the parent as the worker's failure
        sys.stderr.write(f"caseflag batch worker {number}: {err!r}\n")
        return 3
    return 0


def _read_exactly(fd: int, size: int) -> bytes | None:
    """size bytes from a pipe; None if it ends first."""
    data = b""
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            return None
        data += more
    return data


class _Copier:
    """Moves a record's bytes from a worker's pipe to the output: splice(2) where the system and
    the output allow it (not a terminal, nor a file opened to append), else read and write."""

    def __init__(self, out_fd: int) -> None:
        self.out_fd = out_fd
        self.splice = hasattr(os, "splice")

    def copy(self, fd: int, size: int) -> int:
        """Bytes moved: size, or fewer if the pipe ended first."""
        moved = 0
        while moved < size:
            step = self._splice(fd, size - moved) if self.splice else None
            if step is None:
                data = os.read(fd, min(size - moved, 1 << 20))
                write_parts(self.out_fd, [data])
                step = len(data)
            if step == 0:
                break
            moved += step
        return moved

    def _splice(self, fd: int, size: int) -> int | None:
        try:
            return os.splice(fd, self.out_fd, size)
        except OSError as err:
            if err.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
            self.splice = False  # this output does not take it: read and write from now on
            return None


def pass_frame(pipe: int, copier: _Copier, regular: bool) -> str | None:
    """Write the record of the next frame on a worker's pipe to the output; its tally key, or None
    where the pipe ends instead. A pipe that ends inside a frame raises EOFError, and what of the
    record reached a regular output file is cut off again: the output holds whole records only."""
    header = os.read(pipe, _FRAME.size)
    if not header:
        return None
    rest = _read_exactly(pipe, _FRAME.size - len(header))
    if rest is None:
        raise EOFError("the worker's pipe ended inside a frame's header")
    key_size, size = _FRAME.unpack(header + rest)
    key = _read_exactly(pipe, key_size)
    if key is None:
        raise EOFError("the worker's pipe ended inside a frame's tally key")
    start = os.lseek(copier.out_fd, 0, os.SEEK_CUR) if regular else None
    if copier.copy(pipe, size) < size:
        if start is not None:
            os.ftruncate(copier.out_fd, start)
        raise EOFError("the worker's pipe ended inside a record")
    return key.decode("utf-8")


def run_parallel(service, path: str, out: IO[str], fmt: str, jobs: int, concurrency: int, lang, offline: bool,
                 skip: set, tally: Tally, progress: Progress) -> bool:
    """Check a regular file with `jobs` forked workers; the records are written to `out` in input
    order. Returns whether it was interrupted (Ctrl-C); raises BrokenPipeError when out is gone."""
    import fcntl

    out.flush()  # nothing of ours may sit in a buffer the workers inherit
    sys.stderr.flush()
    out_fd = out.fileno()
    pids: list[int] = []
    pipes: list[int] = []
    share = max(1, concurrency // jobs)
    for number in range(jobs):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            status = 3
            try:
                # A group of its own: Ctrl-C at a terminal reaches the parent alone, which passes it
                # on once; twice (the terminal's and the parent's), a worker could stop mid-wind-down.
                os.setpgid(0, 0)
                os.close(read_end)
                for other in pipes:
                    os.close(other)
                status = _worker(service, path, fmt, share, lang, offline, skip, number, jobs, write_end)
            finally:
                os._exit(status)
        os.close(write_end)
        with contextlib.suppress(OSError, AttributeError):  # room for ~60 records in flight (Linux)
            fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, 1 << 20)
        pids.append(pid)
        pipes.append(read_end)
    if skip:
        with open(path, "rb") as source:
            tally.skipped = sum(1 for item in read_items(source) if item.key in skip)

    # Ctrl-C (or a SIGINT sent to this process alone) is passed on: each worker writes what it
    # finished, in order, and stops; the reads here go on (PEP 475) and end at the first gap.
    stop: list[int] = []

    def pass_on(*_) -> None:
        if not stop:
            stop.append(1)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, pass_on)
    copier = _Copier(out_fd)
    regular = _is_regular_file(out)
    turn = 0  # the worker whose frame comes next
    at_end = False  # its pipe ended where a frame would start
    try:
        while True:
            try:
                key = pass_frame(pipes[turn], copier, regular)
            except EOFError:
                break  # the worker died inside a frame (SIGKILL): the record was not written
            if key is None:
                at_end = True  # done, or the next record will never come: nothing is written past a gap
                break
            tally.add_key(key)
            progress.update(tally)
            turn = (turn + 1) % jobs
    finally:
        signal.signal(signal.SIGINT, previous)
        # The worker whose record was next closed its pipe: it finished (and so did the others,
        # whose records all came before), failed or stopped. Unless it finished, the rest stop
        # here too; a worker still writing is never waited for before its pipe is closed.
        last = pids[turn] if at_end else None
        ended = _reap(last) if last is not None else None
        if ended != 0:
            for pid in pids:
                if pid != last:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
        for pipe in pipes:
            os.close(pipe)
        statuses = [ended if pid == last else _reap(pid) for pid in pids]
    failed = [status for status in statuses if status not in (0, 130, -signal.SIGTERM)]
    if not stop and failed:
        raise CaseflagError(f"a batch worker failed (exit status {failed}); "
                            "the output holds whole records up to the first missing one: --resume continues")
    return bool(stop) or 130 in statuses


def _reap(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


# --- the command --------------------------------------------------------------------------

def _format_for(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    return "csv" if output and output.lower().endswith(".csv") else "jsonl"


def _open_output(output: str | None, fmt: str, resume: bool) -> tuple[IO[str], set[tuple[int, str]]]:
    if output is None:
        if resume:
            raise InvalidInput("--resume needs --output: the records already written are read from that file")
        if fmt == "csv":
            sys.stdout.write(csv_header())
        return sys.stdout, set()
    path = Path(output)
    skip: set[tuple[int, str]] = set()
    try:
        if resume and path.is_file() and path.stat().st_size:
            skip = done_keys(path, fmt)
            stream = open(path, "a", encoding="utf-8", newline="")
        else:
            stream = open(path, "w", encoding="utf-8", newline="")
    except OSError as err:
        raise InvalidInput(f"cannot write the output {output}: {err.strerror or err}") from err
    if fmt == "csv" and not skip and stream.tell() == 0:
        stream.write(csv_header())
    return stream, skip


def run_batch(service_factory, path: str = "-", fmt: str | None = None, output: str | None = None,
              concurrency: int = DEFAULT_CONCURRENCY, resume: bool = False, lang: str | None = None,
              offline: bool = False, jobs: int | None = None) -> int:
    """The `caseflag batch` command. Returns the exit status: 0 done, 130 interrupted.

    jobs: processes to run, or None for auto_jobs. Usage problems (unreadable input, unwritable
    output) raise InvalidInput before any work.
    """
    fmt = _format_for(fmt, output)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInput(f"--concurrency must be from 1 to {MAX_CONCURRENCY}")
    if jobs is not None and not 1 <= jobs <= MAX_JOBS:
        raise InvalidInput(f"--jobs must be from 1 to {MAX_JOBS}, or auto")
    if output and path != "-" and Path(output).exists() and os.path.samefile(path, output):
        raise InvalidInput(f"the output {output} is the input file; writing it would destroy the input")
    source = open_input(path)
    try:
        service = service_factory()  # before the output is opened: a broken dataset truncates nothing
        out, skip = _open_output(output, fmt, resume)
    except BaseException:
        if source is not sys.stdin.buffer:
            source.close()
        raise
    show = sys.stderr.isatty()
    progress = Progress(sys.stderr, count_items(path) if show else None, enabled=show)
    run = BatchRun(service, out, fmt, concurrency=concurrency, lang=lang, offline=offline,
                   skip=skip, progress=progress)
    interrupted = broken = False
    jobs = min(auto_jobs(source) if jobs is None else jobs, concurrency)
    parallel = jobs > 1 and _is_regular_file(source) and hasattr(os, "fork")  # else one process reads the stream
    try:
        if parallel:
            interrupted = run_parallel(service, path, out, fmt, jobs, concurrency, lang, offline,
                                       skip, run.tally, progress)
        else:
            run.run(read_items(source), blocking_input=not _is_regular_file(source))
    except KeyboardInterrupt:
        interrupted = True
    except BrokenPipeError:
        broken = True
        # Whoever read our standard output has gone (| head): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        progress.close()
        if out is not sys.stdout:
            out.close()
        if source is not sys.stdin.buffer:
            source.close()
    sys.stderr.write(summary_text(run.tally, time.monotonic() - progress.started, output or "standard output",
                                  interrupted, jobs if parallel else 1))
    if interrupted:
        return 130
    return 1 if broken else 0
