"""The `caseflag batch` command: options, resume, the run, the summary and the exit status.

Exit status: 0 done, 3 done but some lookups failed (`unavailable`: --resume --retry-unavailable
asks again), 2 a usage or write error (one `caseflag: error:` line), 1 the reader of standard
output went away, 130 interrupted (Ctrl-C), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from .batch import Options, BatchRun, auto_jobs, is_regular_file, run_pool
from .batchio import Output, in_shard, open_input, read_items, read_records, rewrite
from ..exports.batchrecords import csv_header
from .batchtally import Progress, Tally, record_key, summary_text, write_summary
from ..core.errors import InvalidInput
from ..net.pacing import Pacer

DEFAULT_CONCURRENCY = 200
MAX_CONCURRENCY = 2000
MAX_JOBS = 64
# Queries a second when a nameserver is not on this machine: polite to a shared public resolver
# (a tenth of what a batch can ask on one core), and split between the processes.
DEFAULT_RATE = 1000.0
EXIT_UNAVAILABLE = 3


@dataclass
class Request:
    """What the command line asked for (see cli.py's batch options)."""

    path: str = "-"
    output: str | None = None
    fmt: str | None = None
    full: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    jobs: int | None = None
    resume: bool = False
    retry_unavailable: bool = False
    rate: float | None = None  # None: DEFAULT_RATE unless every nameserver is on loopback; 0: no cap
    retries: int = 2
    asn: bool = True
    shard: tuple[int, int] | None = None
    column: str | None = None
    lang: str | None = None
    offline: bool = False


def output_format(request: Request) -> str:
    if request.fmt:
        return request.fmt
    name = (request.output or "").lower().removesuffix(".gz")
    return "csv" if name.endswith(".csv") else "jsonl"


def _check_request(request: Request) -> None:
    if not 1 <= request.concurrency <= MAX_CONCURRENCY:
        raise InvalidInput(f"--concurrency must be from 1 to {MAX_CONCURRENCY}")
    if request.jobs is not None and not 1 <= request.jobs <= MAX_JOBS:
        raise InvalidInput(f"--jobs must be from 1 to {MAX_JOBS}, or auto")
    if request.rate is not None and request.rate < 0:
        raise InvalidInput("--rate must be 0 (no cap) or more queries a second")
    if (request.resume or request.retry_unavailable) and request.output is None:
        raise InvalidInput("--resume needs --output: the records already written are read from that file")
    if request.retry_unavailable and not request.resume:
        raise InvalidInput("--retry-unavailable goes with --resume: it asks again for what an earlier run could not")
    output, path = request.output, request.path
    if output and path != "-" and Path(output).exists() and os.path.samefile(path, output):
        raise InvalidInput(f"the output {output} is the input file; writing it would destroy the input")


def _rate(request: Request, nameservers: list[tuple[str, int]]) -> float:
    if request.rate is not None:
        return request.rate
    local = nameservers and all(ipaddress.ip_address(address).is_loopback for address, _ in nameservers)
    return 0.0 if local else DEFAULT_RATE


def _prepare_service(service, request: Request, jobs: int) -> int:
    """Politeness settings on the service; returns the concurrency the rate allows."""
    service.failure_ttl = 0  # a failed lookup is asked again by the retries, not answered from the cache
    service.detector.asn_lookups = request.asn
    rate = _rate(request, service.resolver.nameservers)
    if rate <= 0:
        return request.concurrency
    service.resolver.pacer = Pacer(rate / jobs)
    # Lookups waiting for their turn wait inside the time budget: no more in flight than the rate
    # answers within a third of it (a host asks ~3 questions).
    return min(request.concurrency, max(jobs, int(rate * service.resolver.budget / 9)))


def _resume(request: Request, fmt: str) -> tuple[set, Tally]:
    """The (line, input) keys already done in the output and their counts; with --retry-unavailable,
    the unavailable records are taken out first, to be asked again."""
    path = Path(request.output)
    if not (request.resume and path.is_file() and path.stat().st_size):
        return set(), Tally()
    records = read_records(path, fmt)
    if request.retry_unavailable:
        kept = [(raw, record) for raw, record in records if _status(fmt, record) != "unavailable"]
        if len(kept) < len(records):
            rewrite(path, [raw for raw, _ in kept], fmt)
        records = kept
    done, tally = set(), Tally()
    for _, record in records:
        done.add((int(record["line"]), record["query"] if fmt == "jsonl" else record["input"]))
        tally.add_key(record_key(fmt, record))
    return done, tally


def _status(fmt: str, record: dict) -> str:
    if fmt == "jsonl":
        return record.get("infrastructure", {}).get("status", "")
    return record["infrastructure_status"]


def _same_input(request: Request, done: set) -> None:
    """--resume refuses an output written from another input: every record's line must hold its input."""
    if not done or request.path == "-":
        return
    wanted = dict(done)
    with open(request.path, "rb") as source:
        for item in read_items(source, request.column):
            text = wanted.pop(item.line, None)
            if text is not None and text != item.text:
                raise InvalidInput(f"{request.output} was written from another input: its record for line "
                                   f"{item.line} is {text!r}, but {request.path}:{item.line} is {item.text!r}; "
                                   "choose another --output")
    if wanted:
        line = min(wanted)
        raise InvalidInput(f"{request.output} was written from another input: it has a record for line {line} "
                           f"({wanted[line]!r}), which {request.path} does not have; choose another --output")


def _sort_output(request: Request, fmt: str) -> None:
    """After --retry-unavailable the retried records were appended: put the file in line order again."""
    path = Path(request.output)
    records = sorted(read_records(path, fmt), key=lambda pair: int(pair[1]["line"]))
    rewrite(path, [raw for raw, _ in records], fmt)


class _Stop:
    """SIGINT (Ctrl-C) and SIGTERM, taken in turn: a stop is asked, never raised mid-write."""

    def __init__(self, pool: bool) -> None:
        self.signal: int | None = None
        self.pool = pool
        self._previous = {sig: signal.signal(sig, self._note) for sig in (signal.SIGINT, signal.SIGTERM)}
        if not pool:  # asyncio.run's own Ctrl-C handling cancels the run; SIGTERM joins it
            signal.signal(signal.SIGINT, self._previous[signal.SIGINT])

    def _note(self, number, _frame) -> None:
        self.signal = self.signal or number
        if not self.pool:
            os.kill(os.getpid(), signal.SIGINT)

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def words(self) -> str | None:
        return {signal.SIGTERM: "stopped by SIGTERM", signal.SIGINT: "interrupted"}.get(self.signal)


def run_batch(service_factory, request: Request) -> int:
    """The `caseflag batch` command; returns the exit status (see the module's docstring)."""
    _check_request(request)
    fmt = output_format(request)
    source = open_input(request.path)
    with contextlib.nullcontext(source) if source is sys.stdin.buffer else source:
        service = service_factory()  # before the output is opened: a broken dataset truncates nothing
        done, earlier = _resume(request, fmt) if request.output else (set(), Tally())
        _same_input(request, done)
        with contextlib.closing(Output(request.output, append=request.resume)) as out:
            jobs = min(auto_jobs(source) if request.jobs is None else request.jobs, request.concurrency)
            parallel = jobs > 1 and is_regular_file(source) and hasattr(os, "fork")
            return _run(service, request, fmt, source, out, done, earlier, jobs if parallel else 1)


def _count(request: Request) -> int | None:
    if request.path == "-" or not Path(request.path).is_file():
        return None
    with open(request.path, "rb") as stream:
        return sum(1 for _ in in_shard(read_items(stream, request.column), request.shard))


def _run(service, request: Request, fmt: str, source, out: Output, done: set, earlier: Tally, jobs: int) -> int:
    options = Options(fmt=fmt, full=request.full, concurrency=_prepare_service(service, request, jobs),
                      lang=request.lang, offline=request.offline, retries=request.retries)
    if fmt == "csv" and out.size == 0:
        out.write(csv_header().encode())
    show = sys.stderr.isatty()
    progress = Progress(sys.stderr, _count(request) if show else None, enabled=show)
    tally = Tally()

    def emit(data: bytes, keys: list[str]) -> None:
        out.write(data)
        for key in keys:
            tally.add_key(key)
        progress.update(tally)

    items = _not_done(in_shard(read_items(source, request.column), request.shard), done, tally)
    stop = _Stop(pool=jobs > 1)
    broken = False
    started = time.time()
    try:
        if jobs > 1:
            run_pool(service, items, jobs, options, emit, lambda: stop.signal is not None)
        else:
            BatchRun(service, emit, options).run(items, blocking_input=not is_regular_file(source))
    except KeyboardInterrupt:
        stop.signal = stop.signal or signal.SIGINT
    except BrokenPipeError:
        broken = True  # whoever read our standard output has gone (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        stop.restore()
        progress.close()
    if request.retry_unavailable and stop.signal is None:
        out.close()
        _sort_output(request, fmt)
    whole = Tally(skipped=tally.skipped)
    whole.merge(earlier)
    whole.merge(tally)
    target = request.output or "standard output"
    sys.stderr.write(summary_text(tally, whole, time.time() - started, target, stop.words(), jobs))
    status = _status_code(stop.signal, broken, whole)
    if request.output:
        write_summary(request.output, _facts(request, service, fmt, jobs, started, status), whole, tally)
    return status


def _not_done(items, done: set, tally: Tally):
    """The items --resume has not found in the output (those it found are counted as skipped)."""
    for item in items:
        if (item.line, item.text) in done:
            tally.skipped += 1
        else:
            yield item


def _status_code(stopped: int | None, broken: bool, whole: Tally) -> int:
    if stopped is not None:
        return 128 + stopped
    if broken:
        return 1
    return EXIT_UNAVAILABLE if whole.unavailable else 0


def _facts(request: Request, service, fmt: str, jobs: int, started: float, status: int) -> dict:
    return {
        "caseflag_version": __version__, "dataset_version": service.dataset.version,
        "input": request.path, "format": fmt, "full_records": request.full, "shard": request.shard,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "processes": jobs, "rate": service.resolver.pacer.rate * jobs if service.resolver.pacer else None,
        "asn_lookups": request.asn, "offline": request.offline, "exit_status": status,
        "licence": "data: CC BY 4.0 (caseflag dataset); see LICENSE-DATA",
    }

