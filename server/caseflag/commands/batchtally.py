"""A batch's counts: the progress line while it runs, the summary on stderr and beside the output."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

from ..exports.batchrecords import tally_key

LEVELS = ("target", "party", "related", "infrastructure", "none")


@dataclass
class Tally:
    """Records by level, provider (serving, or DNS only), evidence kind, infrastructure status and error."""

    records: int = 0
    skipped: int = 0
    levels: Counter = field(default_factory=Counter)
    providers: Counter = field(default_factory=Counter)
    served_by: Counter = field(default_factory=Counter)
    evidence: Counter = field(default_factory=Counter)
    infrastructure: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    @property
    def unavailable(self) -> int:
        return self.infrastructure["unavailable"]

    def add_key(self, key: str) -> None:
        """Count a result known by its tally_key (a worker sends it with each record)."""
        self.records += 1
        if key.startswith("!"):
            self.errors[key[1:]] += 1
            return
        level, status, providers, kinds = key.split("\t")
        self.levels[level] += 1
        self.infrastructure[status] += 1
        for provider in filter(None, providers.split(",")):
            self.providers[provider.rstrip("~")] += 1
            if not provider.endswith("~"):
                self.served_by[provider] += 1
        self.evidence.update(filter(None, kinds.split(",")))

    def merge(self, other: Tally) -> None:
        self.records += other.records
        for name in ("levels", "providers", "served_by", "evidence", "infrastructure", "errors"):
            getattr(self, name).update(getattr(other, name))

    def to_dict(self) -> dict:
        return {"records": self.records, "levels": dict(self.levels), "providers": dict(self.providers),
                "served_by": dict(self.served_by), "evidence_kinds": dict(self.evidence),
                "infrastructure": dict(self.infrastructure), "unavailable": self.unavailable,
                "errors": dict(self.errors)}


def record_key(fmt: str, record: dict) -> str:
    """tally_key of a record read back from an output file (see batchio.parse_record)."""
    if fmt == "jsonl":
        return tally_key(record)
    if record["error"]:
        return "!" + record["error"]
    served = set(filter(None, record["served_by"].split(";")))
    providers = ",".join(p + ("" if p in served else "~") for p in filter(None, record["providers"].split(";")))
    kinds = sorted({kind for part in filter(None, record["evidence"].split(";"))
                    for kind in part.partition(":")[2].split("+") if kind})
    return f"{record['level']}\t{record['infrastructure_status']}\t{providers}\t{','.join(kinds)}"


def _counts(counter: Counter) -> str:
    return " · ".join(f"{key} {value:,}" for key, value in counter.most_common()) or "none"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def progress_line(tally: Tally, total: int | None, elapsed: float, width: int = 120) -> str:
    """The progress line: done/total, rate, ETA, counts by level, unavailable and errors, cut to the width."""
    done = tally.records + tally.skipped
    rate = tally.records / elapsed if elapsed > 0 else 0.0
    parts = [f"{done:,}/{total:,} ({done * 100 // max(total, 1)}%)" if total else f"{done:,} done"]
    parts.append(f"{rate:,.0f}/s")
    if total and rate > 0:
        parts.append(f"ETA {_duration(max(total - done, 0) / rate)}")
    levels = " ".join(f"{level} {tally.levels[level]:,}" for level in LEVELS)
    parts.append(f"{levels} unavailable {tally.unavailable:,} errors {sum(tally.errors.values()):,}")
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


def summary_text(run: Tally, whole: Tally, elapsed: float, target: str, stopped: str | None, jobs: int = 1) -> str:
    """The summary: this run's pace, then the counts of the whole output (earlier runs included)."""
    rate = run.records / elapsed if elapsed > 0 else 0.0
    processes = f", {jobs} processes" if jobs > 1 else ""
    lines = [f"caseflag batch: {run.records:,} records in {elapsed:.1f} s ({rate:,.0f}/s{processes}) written to {target}"]
    if stopped:
        lines.append(f"  {stopped}: the output holds whole records only; run again with --resume to continue")
    if whole.records != run.records:
        lines.append(f"  the output holds {whole.records:,} records; the counts below are of all of them")
    counted = {"by level:": whole.levels, "by provider:": whole.providers, "served by:": whole.served_by,
               "evidence:": whole.evidence, "infrastructure:": whole.infrastructure}
    lines += [f"  {label:<16}{_counts(counter)}" for label, counter in counted.items()]
    if whole.unavailable:
        lines.append(f"  unavailable:    {whole.unavailable:,} lookups failed; "
                     "--resume --retry-unavailable asks for them again")
    errors = sum(whole.errors.values())
    lines.append(f"  errors:         {errors:,}" + (f" ({_counts(whole.errors)})" if errors else ""))
    if run.skipped:
        lines.append(f"  skipped:        {run.skipped:,} already in {target} (--resume)")
    return "\n".join(lines) + "\n"


def write_summary(output: str, facts: dict, whole: Tally, run: Tally) -> None:
    """The run's summary beside the output, as JSON."""
    body = {**facts, "output": whole.to_dict(), "this_run": {**run.to_dict(), "skipped": run.skipped}}
    with open(output + ".summary.json", "w", encoding="utf-8") as out:
        json.dump(body, out, indent=2, ensure_ascii=False)
        out.write("\n")

