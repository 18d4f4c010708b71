"""P4 in a fresh process: load a big dataset, then time Dataset.match against a bare dict lookup.

    python bench/p4_dataset.py DATA_DIR [--phases]

Prints one JSON line: load seconds, resident memory after the load and at its peak, and the
nanoseconds per lookup of Dataset.match and of dict.get over the same pre-parsed host names
(half listed domains, a quarter their www. subdomains, a quarter unlisted names), then
[dict.get, match] for each of those kinds alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from importlib import metadata
from pathlib import Path

from caseflag.dataset import Dataset
from caseflag.domains import parse


SAMPLE = 100_000


def memory_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def phases(data_dir: Path) -> dict:
    """Where a load's time goes: the same steps as Dataset.load, timed one by one."""
    from caseflag.lint import check_records
    from caseflag.records import content_version, read_all

    times = {}
    started = time.perf_counter()
    records = read_all(data_dir)
    times["read_and_parse_toml"] = time.perf_counter() - started
    started = time.perf_counter()
    check_records(records, data_dir)
    times["lint_checks"] = time.perf_counter() - started
    started = time.perf_counter()
    by_kind: dict[str, dict] = {"entities": {}, "cases": {}, "sources": {}, "providers": {}}
    for record in records:
        by_kind[record.kind][record.data["id"]] = record.data
    Dataset(data_dir=data_dir, version=content_version(records, data_dir), **by_kind)
    times["version_and_indexes"] = time.perf_counter() - started
    return {key: round(value, 2) for key, value in times.items()}


def per_lookup_ns(function, items: list, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, time.perf_counter() - started)
    return best / len(items) * 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--phases", action="store_true", help="also time the load's steps one by one (slower)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    dataset = Dataset.load(args.data_dir)
    load_seconds = time.perf_counter() - started
    gc.collect()
    result = {"load_s": round(load_seconds, 2), "rss_mb": round(memory_mb("VmRSS")),
              "peak_rss_mb": round(memory_mb("VmHWM")), "domains": dataset.counts()["domains"],
              "toml": f"tomli {metadata.version('tomli')}"}

    rng = random.Random(4)
    listed = rng.sample(sorted(dataset._domains), SAMPLE // 2)
    names = listed + [f"www.{name}" for name in listed[: SAMPLE // 4]]
    names += [f"unlisted{number:06d}.com" for number in range(SAMPLE // 4)]
    rng.shuffle(names)
    hostnames = [parse(name) for name in names]
    assert sum(dataset.match(h) is not None for h in hostnames) == SAMPLE * 3 // 4, "the sample should match 75%"
    index = dict(dataset._domains)
    get = index.get
    result["dict_get_ns"] = round(per_lookup_ns(lambda hostname: get(hostname.name), hostnames), 1)
    result["match_ns"] = round(per_lookup_ns(dataset.match, hostnames), 1)
    # The same by kind of name: a miss costs a lookup or two, a hit also builds the DomainMatch.
    for kind, group in (("listed", [parse(name) for name in listed[:20_000]]),
                        ("www", [parse(f"www.{name}") for name in listed[:20_000]]),
                        ("unlisted", [parse(f"unlisted{number:06d}.com") for number in range(20_000)])):
        result[f"{kind}_ns"] = [round(per_lookup_ns(lambda hostname: get(hostname.name), group, 3)),
                                round(per_lookup_ns(dataset.match, group, 3))]
    if args.phases:
        result["phases_s"] = phases(args.data_dir)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
