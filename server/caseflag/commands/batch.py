"""Checking a stream of items with the service's async path, one record per item, in input order.

A bounded window of lookups runs ahead of the writer, so memory stays bounded however long the
input. With `--jobs`, a standard process pool checks the input in chunks and the parent writes
each chunk's records in input order (batchcommand.py runs it all)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import itertools
import multiprocessing
import os
import random
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import IO

from .batchio import Item
from ..exports.batchrecords import record_bytes, tally_key
from ..core.errors import CaseflagError, InvalidInput

AUTO_JOBS_MAX = 4
AUTO_JOBS_FROM = 32 * 1024  # --jobs auto: one process per core for a file of ~2,000 names or more
_END = object()

Emit = Callable[[bytes, list[str]], None]  # a run's records (whole, in order) and their tally keys


@dataclass(frozen=True)
class Options:
    """How each item is checked and written."""

    fmt: str = "jsonl"
    full: bool = False  # the API's full answer per JSON line, not the compact form
    concurrency: int = 200
    lang: str | None = None
    offline: bool = False
    retries: int = 2  # more tries for a lookup that came back unavailable
    backoff: float = 0.5  # seconds before the first retry; doubled for each further one


class BatchRun:
    """Checks every item of a stream and emits one record each, in input order: at most
    ``concurrency`` lookups at once, and at most twice that many records waiting for the writer."""

    def __init__(self, service, emit: Emit, options: Options) -> None:
        self.service, self.emit, self.options = service, emit, options
        self.concurrency = max(1, options.concurrency)
        self._head: tuple[Item, asyncio.Task] | None = None  # the record the writer is waiting for
        self._session = None

    def run(self, items: Iterator[Item], blocking_input: bool = True) -> None:
        """Blocking. Ctrl-C stops after the records already emitted and raises KeyboardInterrupt.

        blocking_input: the input may keep us waiting (a pipe, a terminal), so a thread reads it;
        a regular file is read in the event loop, a line whenever there is room for one."""
        asyncio.run(self._run(items, blocking_input))

    async def _run(self, items: Iterator[Item], blocking_input: bool = True) -> None:
        window = 2 * self.concurrency
        stop = threading.Event()
        next_item = _reader_thread(items, window, stop) if blocking_input else _inline_reader(items)
        pending: asyncio.Queue = asyncio.Queue(maxsize=window)
        gate = asyncio.Semaphore(self.concurrency)
        async with self.service.session() as session:  # one socket per nameserver for the run
            self._session = session
            try:
                await asyncio.gather(self._start(next_item, pending, gate), self._write(pending))
            finally:
                stop.set()
                await self._wind_down(pending)

    async def _start(self, next_item, pending: asyncio.Queue, gate: asyncio.Semaphore) -> None:
        while True:
            item = await next_item()
            if isinstance(item, CaseflagError):
                raise item
            if item is _END:
                await pending.put(_END)
                return
            if item.error is None:  # a lookup starts once there is room for it
                await gate.acquire()
            task = asyncio.create_task(self._check(item))
            if item.error is None:
                task.add_done_callback(lambda _: gate.release())
            await pending.put((item, task))

    async def _check(self, item: Item) -> dict:
        if item.error is not None:
            return {"query": item.text, **item.error.to_dict(), "status": item.error.status}
        options = self.options
        try:
            for attempt in range(options.retries + 1):  # a resolver that refused or lost it may answer later
                if attempt:
                    await asyncio.sleep(options.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
                result = await self.service.check_one_async(item.text, options.lang, options.offline,
                                                            self._session)
                if result.get("infrastructure", {}).get("status") != "unavailable":
                    break
            return result
        except Exception as err:  # noqa: BLE001 - one failing lookup must not end a 20,000-line run
            error = {"code": "internal_error", "message": f"the check failed: {err!r}"}
            return {"query": item.text, "error": error, "status": 500}

    async def _write(self, pending: asyncio.Queue) -> None:
        entry = await pending.get()
        while entry is not _END:
            self._head = entry
            ready = [(entry[0], await entry[1])]
            self._head = entry = None
            while not pending.empty():  # the finished records behind it go out in the same write
                entry = pending.get_nowait()
                if entry is _END or not entry[1].done() or entry[1].cancelled():
                    self._head = entry if entry is not _END else None  # still seen by _wind_down
                    break
                ready.append((entry[0], entry[1].result()))
                entry = None
            self._emit(ready)
            if entry is None:
                entry = await pending.get()

    def _emit(self, records: list[tuple[Item, dict]]) -> None:
        options = self.options
        data = b"".join(record_bytes(options.fmt, item.line, result, options.full) for item, result in records)
        self.emit(data, [tally_key(result) for _, result in records])

    async def _wind_down(self, pending: asyncio.Queue) -> None:
        """After an interruption: emit what already finished, in order up to the first gap; cancel the rest."""
        leftover = [self._head] if self._head is not None else []
        while not pending.empty():
            entry = pending.get_nowait()
            if entry is not _END:
                leftover.append(entry)
        writing = True
        for item, task in leftover:
            if writing and task.done() and not task.cancelled():
                with contextlib.suppress(BrokenPipeError, CaseflagError):  # the output is gone or full
                    self._emit([(item, task.result())])
                    continue
            writing = False
            task.cancel()
        await asyncio.gather(*(task for _, task in leftover), return_exceptions=True)


def _inline_reader(items: Iterator[Item]):
    """The next item straight from a regular file, in the event loop (such reads never stall)."""

    async def next_item():
        try:
            return next(items, _END)
        except OSError as err:
            return InvalidInput(f"reading the input failed: {err}")

    return next_item


def _reader_thread(items: Iterator[Item], window: int, stop: threading.Event):
    """A thread reads a pipe or terminal, so a slow input never blocks the event loop's DNS timers;
    returns the coroutine function that takes its next item."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue = asyncio.Queue()
    room = threading.Semaphore(window)

    def read() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed under us: the run is over
            try:
                for item in items:
                    while not room.acquire(timeout=0.5):
                        if stop.is_set():
                            return
                    if stop.is_set():
                        return
                    loop.call_soon_threadsafe(lines.put_nowait, item)
                end = _END
            except OSError as err:
                end = InvalidInput(f"reading the input failed: {err}")
            loop.call_soon_threadsafe(lines.put_nowait, end)

    threading.Thread(target=read, daemon=True).start()

    async def next_item():
        item = await lines.get()
        if isinstance(item, Item):
            room.release()
        return item

    return next_item


# --- several processes: a standard multiprocessing pool ---------------------------------------------

_WORKER: dict = {}  # the service and options a forked worker inherits


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop, and stops the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # how the pool stops a worker (not the parent's handler)


def _check_chunk(chunk: list[Item]) -> tuple[bytes, list[str]]:
    """A worker's task: one chunk of items, its records' bytes and tally keys, in input order."""
    parts: list[bytes] = []
    keys: list[str] = []

    def emit(data: bytes, more: list[str]) -> None:
        parts.append(data)
        keys.extend(more)

    BatchRun(_WORKER["service"], emit, _WORKER["options"]).run(iter(chunk), blocking_input=False)
    return b"".join(parts), keys


def run_pool(service, items: Iterator[Item], jobs: int, options: Options, emit: Emit,
             stopping: Callable[[], bool]) -> None:
    """Check items in chunks with `jobs` forked worker processes; emit each chunk's records in input
    order. Returns when done or when stopping() says so, having emitted whole chunks only."""
    share = Options(**{**options.__dict__, "concurrency": max(1, options.concurrency // jobs)})
    size = max(50, 4 * share.concurrency)  # a chunk: enough to keep a worker busy, few enough to stream
    _WORKER.update(service=service, options=share)
    chunks = iter(lambda: list(itertools.islice(items, size)), [])
    context = multiprocessing.get_context("fork")  # the workers inherit the loaded dataset
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker) as pool:
        pending = collections.deque(pool.submit(_check_chunk, chunk) for chunk in itertools.islice(chunks, 2 * jobs))
        try:
            while pending and not stopping():
                try:
                    data, keys = pending[0].result(timeout=0.1)
                except TimeoutError:
                    continue
                except Exception as err:  # a worker killed (its chunk lost), or an error not of a lookup
                    raise _worker_failed(err) from err
                pending.popleft()
                emit(data, keys)
                following = next(chunks, None)
                if following is not None:
                    try:
                        pending.append(pool.submit(_check_chunk, following))
                    except BrokenProcessPool as err:  # a worker died after the chunk just emitted was done
                        raise _worker_failed(err) from err
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _worker_failed(err: Exception) -> CaseflagError:
    what = "process died" if isinstance(err, BrokenProcessPool) else f"failed ({err!r})"
    return CaseflagError(f"a batch worker {what}; the output holds whole records up to the last one written: "
                         "--resume continues from there")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may run on (taskset, a container's cpuset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def is_regular_file(stream: IO[bytes]) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


def auto_jobs(source: IO[bytes]) -> int:
    """--jobs auto: one process per usable core, up to AUTO_JOBS_MAX, for a regular file of
    AUTO_JOBS_FROM bytes or more; one for anything else (a batch is CPU-bound in Python)."""
    if not is_regular_file(source) or os.fstat(source.fileno()).st_size < AUTO_JOBS_FROM:
        return 1
    return max(1, min(usable_cores(), AUTO_JOBS_MAX))
