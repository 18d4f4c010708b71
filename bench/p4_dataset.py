"""P4 in a fresh process: load a big dataset, then time Dataset.match against a bare dict lookup.

    python bench/p4_dataset.py DATA_DIR [--phases]
    python bench/p4_dataset.py DATA_DIR --parse-only

Prints one JSON line: load seconds, resident memory after the load and at its peak, and the
nanoseconds per lookup of Dataset.match and of dict.get over the same pre-parsed host names
(half listed domains, a quarter their www. subdomains, a quarter unlisted names), then
[dict.get, match] for each of those kinds alone. With --parse-only: the seconds to read and
parse the same files with tomli alone, the floor the load is measured against.
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

from caseflag.data.dataset import Dataset
from caseflag.core.domains import parse


SAMPLE = 100_000


def memory_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def phases(data_dir: Path) -> dict:
    """Where a load's time goes: the same steps as Dataset.load, timed one by one."""
    from caseflag.data.lint import check_records
    from caseflag.data.records import content_version, read_all

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


def per_lookup_ns(functions: list, items: list, rounds: int = 7) -> list[float]:
    """The best time per item of each function over the same items, the functions taking turns
    round by round, so a stall of the shared machine costs one round of one side, not a side."""
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for number, function in enumerate(functions):
            started = time.perf_counter()
            for item in items:
                function(item)
            best[number] = min(best[number], time.perf_counter() - started)
    return [seconds / len(items) * 1e9 for seconds in best]


def parse_only(data_dir: Path) -> dict:
    """The floor for the load: the same files read and parsed by tomli, nothing else."""
    import tomli

    from caseflag.data.records import data_files

    # The cyclic GC waits, as it does during Dataset.load: a floor slowed by collections the
    # load does not run would flatter the ratio.
    gc.disable()
    started, cpu = time.perf_counter(), time.process_time()
    parsed = [tomli.loads(path.read_bytes().decode("utf-8")) for _, path in data_files(data_dir)]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    gc.enable()
    return {"parse_s": round(seconds, 3), "parse_cpu_s": round(cpu, 3), "files": len(parsed),
            "rss_mb": round(memory_mb("VmRSS"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--phases", action="store_true", help="also time the load's steps one by one (slower)")
    parser.add_argument("--parse-only", action="store_true", help="only read and parse the files with tomli")
    args = parser.parse_args(argv)
    if args.parse_only:
        print(json.dumps(parse_only(args.data_dir)))
        return 0

    started, cpu = time.perf_counter(), time.process_time()
    dataset = Dataset.load(args.data_dir)
    load_seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    gc.collect()
    result = {"load_s": round(load_seconds, 3), "load_cpu_s": round(cpu, 3), "rss_mb": round(memory_mb("VmRSS")),
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
    dict_get, match = per_lookup_ns([lambda hostname: get(hostname.name), dataset.match], hostnames)
    result["dict_get_ns"], result["match_ns"] = round(dict_get, 1), round(match, 1)
    # The same by kind of name: a miss costs a lookup, a hit also builds the DomainMatch.
    for kind, group in (("listed", [parse(name) for name in listed[:20_000]]),
                        ("www", [parse(f"www.{name}") for name in listed[:20_000]]),
                        ("unlisted", [parse(f"unlisted{number:06d}.com") for number in range(20_000)])):
        result[f"{kind}_ns"] = [round(ns) for ns in
                                per_lookup_ns([lambda hostname: get(hostname.name), dataset.match], group, 5)]
    if args.phases:
        result["phases_s"] = phases(args.data_dir)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
