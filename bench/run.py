"""`make bench`: a load run against `caseflag serve`, then P1-P4 as ratios measured side by side.

    python bench/run.py [--only load,p1,p2,p3,p4,p5] [--load-seconds 60] [--quick]

Everything runs on loopback: the servers, wrk, the DNS servers. Prints the machine, the load
run, and one table of ratios with their targets. Not a test: nothing here fails the build.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PYTHON = sys.executable
CASEFLAG = str(Path(PYTHON).with_name("caseflag"))
P3_DNS_HOST = "127.0.0.77"  # adnshost only talks to port 53, so P3's DNS server sits here
LOAD_POOL = 3_000  # names in the load run, half again as many as a worker's cache holds:
LOAD_CACHE = 2_000  # the caches fill early, then every miss evicts, which is where a leak would show
P3_NAMES = 10_000
P1_NAME = "www.thepiratebay.org"
P2_DELAY = 0.050
P2_ONE_RTT = ("thepiratebay.org", "cf-shop.com", "www.cf-shop.com")  # addresses in Cloudflare's ranges
P2_TWO_RTT = ("plain-site.org", "asn-only.com")  # the ASN must be asked after the address


@dataclass
class Row:
    name: str
    what: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""


# --- the machine and processes -----------------------------------------------------------------

def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    memory = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), 0)
    return {"nproc": os.cpu_count(), "cpu": model, "memory_gib": round(memory / 1024 / 1024, 1),
            "python": platform.python_version(), "load_average": os.getloadavg()}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (gunicorn's master and workers)."""
    total, pending, seen = 0, [pid], set()
    while pending and len(seen) < 256:
        current = pending.pop()
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


class Service:
    """A child process in its own session, logged to a file, stopped (with its children) on exit."""

    def __init__(self, name: str, command: list[str], env: dict | None = None, log_dir: Path | None = None,
                 stdin=subprocess.DEVNULL) -> None:
        self.name = name
        self.log = (log_dir or Path(tempfile.gettempdir())) / f"{name}.log"
        self._log_file = open(self.log, "wb")
        self.process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdin=stdin,
                                        stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                        cwd=REPO)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=5)
        self._log_file.close()

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_http(service: Service, port: int, path: str = "/healthz", seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited:\n{service.tail()}")
        try:
            if http_get(port, path, timeout=2)[0] < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} did not answer on port {port} within {seconds:.0f} s:\n{service.tail()}")


def caseflag_serve(name: str, port: int, nameserver: str, log_dir: Path, **extra: str) -> Service:
    env = {"CASEFLAG_PORT": str(port), "CASEFLAG_DNS_NAMESERVERS": nameserver,
           # The bench measures the service, not the per-client limit (1200/minute by default).
           "CASEFLAG_RATE_LIMIT": "", "CASEFLAG_RELOAD_INTERVAL": "0"}
    env.update({f"CASEFLAG_{key}": value for key, value in extra.items()})
    service = Service(name, [CASEFLAG, "serve"], env, log_dir)
    wait_http(service, port)
    return service


def run_wrk(port: int, path: str, seconds: int, connections: int, script: str, args: list[str] = ()) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(BENCH / "wrk" / script),
               f"http://127.0.0.1:{port}{path}"]
    if args:
        command += ["--", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no report:\n{done.stdout}\n{done.stderr}")
    result = json.loads(line[len("BENCH "):])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


# --- the load run ---------------------------------------------------------------------------------

def load_run(dns: str, log_dir: Path, seconds: int) -> tuple[dict, Service, int]:
    """200 connections over a pool of names larger than the cache, so it fills and then evicts."""
    port = free_port()
    server = caseflag_serve("load-server", port, dns, log_dir, CACHE_SIZE=str(LOAD_CACHE))
    before = rss_mb(server.pid)
    samples: list[tuple[int, float]] = []
    stop = threading.Event()

    def sample() -> None:
        started = time.monotonic()
        while not stop.wait(5.0) and time.monotonic() - started < seconds + 30:
            samples.append((round(time.monotonic() - started), rss_mb(server.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = run_wrk(port, "/", seconds, 200, "pool.lua", [str(LOAD_POOL), "load-"])
    stop.set()
    sampler.join(timeout=10)
    result.update(rss_before=before, rss_after=rss_mb(server.pid), rss_samples=samples,
                  rate_limit='off: CASEFLAG_RATE_LIMIT=""')
    return result, server, port


def print_load(result: dict, seconds: int) -> None:
    statuses = {int(key): value for key, value in result["statuses"].items()}
    non_2xx = sum(count for status, count in statuses.items() if not 200 <= status < 300)
    errors_5xx = sum(count for status, count in statuses.items() if status >= 500)
    socket_errors = sum(result[key] for key in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    series = "  ".join(f"{second}s {mb:.0f}" for second, mb in result["rss_samples"])
    print(f"Load: {seconds} s, 200 connections, wrk -t2, GET /api/v1/check for random names from a pool of "
          f"{LOAD_POOL:,}; CASEFLAG_CACHE_SIZE={LOAD_CACHE:,} per worker, so the caches fill within seconds "
          f"and then evict; rate limit {result['rate_limit']}")
    print(f"  requests/s {result['rps']:,.0f}   p50 {result['p50_us'] / 1000:.1f} ms   "
          f"p99 {result['p99_us'] / 1000:.1f} ms   requests {result['requests']:,}")
    print(f"  non-2xx {non_2xx:,} (5xx {errors_5xx:,}; by status {dict(sorted(statuses.items()))})   "
          f"socket errors {socket_errors:,}")
    print(f"  server RSS (master + workers) before {result['rss_before']:.0f} MB, after {result['rss_after']:.0f} MB;"
          f" every 5 s: {series}")


# --- P1: cached check vs a bare Flask endpoint ---------------------------------------------------

def p1(server_port: int, log_dir: Path, seconds: int) -> Row:
    path = f"/api/v1/check?domain={P1_NAME}"
    for _ in range(40):  # every worker resolves it once, then answers from its cache
        status, _, body = http_get(server_port, path)
    answer = json.loads(body)
    if status != 200 or answer["verdict"]["level"] != "target":
        raise RuntimeError(f"P1: unexpected answer for {P1_NAME}: {status} {body[:300]!r}")
    payload = log_dir / "p1-answer.json"
    payload.write_text(json.dumps(answer), encoding="utf-8")
    bare_port = free_port()
    bare = Service("bare-flask", [PYTHON, str(BENCH / "bare_app.py"), "--port", str(bare_port),
                                  "--payload", str(payload)], log_dir=log_dir)
    try:
        wait_http(bare, bare_port, "/api/v1/check")
        sides = {"caseflag": [], "bare": []}
        for _ in range(2):  # interleaved, so drift on a shared machine hits both sides alike
            sides["caseflag"].append(run_wrk(server_port, path, seconds, 200, "fixed.lua"))
            sides["bare"].append(run_wrk(bare_port, "/api/v1/check", seconds, 200, "fixed.lua"))
    finally:
        bare.stop()
    rate = {side: sum(r["requests"] for r in runs) / sum(r["duration_us"] / 1e6 for r in runs)
            for side, runs in sides.items()}
    failures = sum(r["status_errors"] + r["read_errors"] + r["timeouts"] for runs in sides.values() for r in runs)
    ratio = rate["caseflag"] / rate["bare"]
    return Row("P1", f"cached GET /api/v1/check ({P1_NAME}) ÷ bare Flask view returning the same JSON, same gunicorn",
               f"{rate['caseflag']:,.0f} req/s", f"{rate['bare']:,.0f} req/s", ratio, "≥ 0.8", ratio >= 0.8,
               f"{len(body):,}-byte answer; errors {failures}")


# --- P2: cold check latency with a slow DNS server -----------------------------------------------

def p2(log_dir: Path, samples: int) -> Row:
    sys.path.insert(0, str(REPO / "tests"))
    from dnsserver import DnsTestServer

    dns = DnsTestServer(delay=P2_DELAY).start()
    port = free_port()
    server = caseflag_serve("p2-server", port, dns.nameserver, log_dir, CACHE_SIZE="0")
    try:
        for name in P2_ONE_RTT + P2_TWO_RTT:  # first requests pay for imports and thread start-up
            http_get(port, f"/api/v1/check?domain={name}")
        times: dict[str, list[float]] = {name: [] for name in P2_ONE_RTT + P2_TWO_RTT}
        for _ in range(samples):
            for name in times:
                started = time.perf_counter()
                status, _, body = http_get(port, f"/api/v1/check?domain={name}")
                times[name].append(time.perf_counter() - started)
                infrastructure = json.loads(body)["infrastructure"]
                if status != 200 or infrastructure["status"] != "resolved" or json.loads(body)["cached"]:
                    raise RuntimeError(f"P2: {name}: unexpected answer {status} {body[:300]!r}")
    finally:
        server.stop()
        dns.stop()
    medians = {name: statistics.median(values) for name, values in times.items()}
    one = max(medians[name] for name in P2_ONE_RTT) / P2_DELAY
    two = max(medians[name] for name in P2_TWO_RTT) / (2 * P2_DELAY)
    ratio = max(one, two)
    detail = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in medians.items())
    return Row("P2", f"cold check latency, DNS answers delayed {P2_DELAY * 1000:.0f} ms ÷ round-trip limit "
               f"(1 RTT: {one:.2f}, 2 RTT: {two:.2f})",
               f"worst median {max(medians.values()) * 1000:.0f} ms", "50 / 100 ms", ratio, "≤ 1.2", ratio <= 1.2,
               f"medians of {samples}: {detail}")


# --- P3: caseflag batch vs adnshost ----------------------------------------------------------------

def adnshost(names: list[str], window: int, all_ok: bool = True) -> float:
    """Seconds for adnshost to ask A, AAAA and NS for every name, at most `window` queries in flight
    (all_ok: every answer must be ok; a mixed zone has NXDOMAIN names and names without AAAA)."""
    queries = [(qtype, name) for qtype in ("a", "aaaa", "ns-") for name in names]
    command = ["adnshost", "--config", f"nameserver {P3_DNS_HOST}", "--asynch", "--pipe"]
    if shutil.which("stdbuf"):
        command = ["stdbuf", "-oL", *command]  # answers line by line, so the window can slide
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, bufsize=1)
    room = threading.Semaphore(window)

    def feed() -> None:
        current = None
        try:
            for qtype, name in queries:
                if not room.acquire(timeout=30):
                    break
                process.stdin.write((f"--type {qtype}\n" if qtype != current else "") + name + "\n")
                process.stdin.flush()
                current = qtype
        finally:
            process.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    answers = failed = 0
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            parts = line.split()
            # "<id> <nrrs> <statustype> ..." opens each answer in --asynch format
            if len(parts) > 3 and parts[0].isdigit() and parts[1].isdigit():
                answers += 1
                failed += parts[2] != "ok"
                room.release()
        process.wait(timeout=10)
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - started
    if answers != len(queries) or (failed and all_ok):
        raise RuntimeError(f"P3: adnshost answered {answers} of {len(queries)} queries, {failed} failed")
    return elapsed


def batch_seconds(names_file: Path, names: list[str], log_dir: Path, concurrency: int, jobs: str = "auto",
                  expect_resolved: int | None = None, extra: tuple[str, ...] = ()) -> float:
    """Seconds for `caseflag batch` (a fresh process, start-up included) to write JSON Lines for every name."""
    output = log_dir / "p3-batch.jsonl"
    env = {**os.environ, "CASEFLAG_DNS_NAMESERVERS": f"{P3_DNS_HOST}:53", "CASEFLAG_RELOAD_INTERVAL": "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([CASEFLAG, "batch", str(names_file), "--format", "jsonl", "-o", str(output),
                           "--concurrency", str(concurrency), *(["--jobs", jobs] if jobs != "auto" else []), *extra],
                          env=env, capture_output=True, text=True, timeout=300, check=False, cwd=REPO)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    BATCH_CPU.setdefault(jobs, []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    processes = re.search(r"/s, (\d+) processes\)", done.stderr)
    BATCH_PROCESSES[jobs] = int(processes.group(1)) if processes else 1
    resolved = 0
    with open(output, encoding="utf-8") as lines:
        for line in lines:
            resolved += json.loads(line).get("infrastructure", {}).get("status") == "resolved"
    RECORD_BYTES[extra] = output.stat().st_size / len(names)
    output.unlink()
    if done.returncode != 0 or resolved != (len(names) if expect_resolved is None else expect_resolved):
        raise RuntimeError(f"P3: caseflag batch exited {done.returncode}, {resolved} of {len(names)} resolved:\n"
                           f"{done.stderr[-2000:]}")
    return elapsed


BATCH_CPU: dict[str, list[float]] = {}  # CPU seconds (user + system, workers included) of each batch, by --jobs
BATCH_PROCESSES: dict[str, int] = {}  # how many processes each --jobs ran (auto: the summary says)
RECORD_BYTES: dict[tuple, float] = {}  # bytes per JSON line of the last batch, by extra options ("--full")


def p3(names_file: Path, names: list[str], log_dir: Path, concurrency: int = 200, rounds: int = 5) -> list[Row]:
    # Alternating rounds, the median of each side: one stall of the shared machine moves one round only.
    adns_runs, auto_runs, one_runs = [], [], []
    BATCH_CPU.clear()
    for _ in range(rounds):
        adns_runs.append(adnshost(names, window=3 * concurrency))
        auto_runs.append(batch_seconds(names_file, names, log_dir, concurrency))
        one_runs.append(batch_seconds(names_file, names, log_dir, concurrency, jobs="1"))
    adns_seconds = statistics.median(adns_runs)
    theirs = len(names) / adns_seconds
    rows = []
    for jobs, runs in (("auto", auto_runs), ("1", one_runs)):
        ours = len(names) / statistics.median(runs)
        ratio = ours / theirs
        cpu = BATCH_CPU[jobs]
        processes = BATCH_PROCESSES[jobs]
        if jobs == "auto":
            what = (f"caseflag batch as it runs by default (--jobs auto: {processes} processes here) ÷ adnshost, "
                    f"{len(names):,} names (A, AAAA, NS each) from one local DNS server")
            target, met = "≥ 0.5", ratio >= 0.5
        else:
            what = "the same in one process (`--jobs 1`), reported"
            target, met = "", None
        rows.append(Row("P3", what, f"{ours:,.0f} names/s", f"{theirs:,.0f} names/s", ratio, target, met,
                        f"--jobs {jobs}: median of {rounds} alternating rounds; batch --concurrency {concurrency} (wall, "
                        f"with start-up) took {', '.join(f'{x:.2f}' for x in runs)} s, CPU "
                        f"{', '.join(f'{x:.2f}' for x in cpu)} s, so {len(names) / statistics.median(cpu):,.0f} "
                        f"names per CPU second; adnshost with {3 * concurrency} queries in flight took "
                        f"{', '.join(f'{x:.2f}' for x in adns_runs)} s"))
    return rows


def p3_mixed(names_file: Path, names: list[str], log_dir: Path, concurrency: int = 200, rounds: int = 3) -> list[Row]:
    """The batch on a realistic mix (bench/fastdns.py mixed_zone: Cloudflare-proxied, Cloudflare DNS
    only, AWS, Fastly, NXDOMAIN; ASN questions for the addresses in no published range) against
    adnshost asking A, AAAA and NS of the same names; and the compact JSON line's size against the full one."""
    sys.path.insert(0, str(BENCH))
    from fastdns import mixed_zone

    zone = mixed_zone(names)
    resolved = sum(1 for name in names if name in zone)
    adns_runs, batch_runs = [], []
    for _ in range(rounds):
        adns_runs.append(adnshost(names, window=3 * concurrency, all_ok=False))
        batch_runs.append(batch_seconds(names_file, names, log_dir, concurrency, expect_resolved=resolved))
    theirs = len(names) / statistics.median(adns_runs)
    ours = len(names) / statistics.median(batch_runs)
    batch_seconds(names_file, names, log_dir, concurrency, expect_resolved=resolved, extra=("--full",))
    compact, full = RECORD_BYTES[()], RECORD_BYTES[("--full",)]
    return [
        Row("P3-mix", f"caseflag batch (default) ÷ adnshost on a mixed zone of {len(names):,} names "
                      "(40 % Cloudflare, 15 % Cloudflare DNS only, 30 % AWS/Fastly with ASN questions, 15 % NXDOMAIN)",
            f"{ours:,.0f} names/s", f"{theirs:,.0f} names/s", ours / theirs, "≥ 0.5", ours / theirs >= 0.5,
            f"median of {rounds}; batch took {', '.join(f'{x:.2f}' for x in batch_runs)} s, adnshost "
            f"{', '.join(f'{x:.2f}' for x in adns_runs)} s"),
        Row("P3-size", "JSON Lines bytes per record on the mixed zone: compact (default) ÷ full (--full)",
            f"{compact:,.0f} B", f"{full:,.0f} B", compact / full, "", None,
            "the compact form refers to cases and sources by id"),
    ]


# --- P4: a million-domain dataset ----------------------------------------------------------------

def p4(log_dir: Path, entities: int, per_entity: int, rounds: int = 3) -> list[Row]:
    sys.path.insert(0, str(BENCH))
    from gen_dataset import generate

    def fresh(*extra: str) -> dict:
        done = subprocess.run([PYTHON, str(BENCH / "p4_dataset.py"), folder, *extra], capture_output=True, text=True,
                              timeout=300, check=False, cwd=REPO)
        if done.returncode != 0:
            raise RuntimeError(f"P4 failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    runs, parses = [], []
    with tempfile.TemporaryDirectory(prefix="caseflag-p4-") as folder:
        count = generate(Path(folder), entities, per_entity)
        os.sync()  # the generator's 10,000 files reach the disk now, not during the timed load
        fresh("--parse-only")  # one read first, so both sides find the files in the page cache
        # Alternating fresh processes: the floor (tomli alone on the same files), then the full
        # load and the match timings; the median of each side.
        for _ in range(rounds):
            parses.append(fresh("--parse-only"))
            runs.append(fresh())
    runs.sort(key=lambda run: run["load_s"])
    result = runs[len(runs) // 2]
    parse_s = statistics.median(run["parse_s"] for run in parses)
    wall_ratio = result["load_s"] / parse_s
    # The ratio in CPU time: both sides read the same files from the page cache, so it is the
    # work itself, and what other work on a shared machine does to the wall clock stays out.
    load_cpu = statistics.median(run["load_cpu_s"] for run in runs)
    parse_cpu = statistics.median(run["parse_cpu_s"] for run in parses)
    load_ratio = load_cpu / parse_cpu
    loads = ", ".join(f"{run['load_s']:.2f}" for run in runs)
    floors = ", ".join(f"{run['parse_s']:.2f}" for run in parses)
    matches = sorted(runs, key=lambda run: run["match_ns"] / run["dict_get_ns"])
    match = matches[len(matches) // 2]  # the median match ratio of the fresh processes
    ratio = match["match_ns"] / match["dict_get_ns"]
    size = f"{result['domains']:,} domains ({count:,} generated in {entities:,} entity files)"
    return [
        Row("P4", f"Dataset.match ÷ dict.get over the same index, {size}; 50% listed, 25% www., 25% unlisted",
            f"{match['match_ns']:,.0f} ns", f"{match['dict_get_ns']:,.0f} ns", ratio, "≤ 2.5", ratio <= 2.5,
            f"median of {rounds} fresh processes (ratios " + ", ".join(
                f"{run['match_ns'] / run['dict_get_ns']:.2f}" for run in matches) + "); dict.get / match ns by kind: "
            + ", ".join(f"{kind} {match[kind + '_ns'][0]:,} / {match[kind + '_ns'][1]:,}"
                        for kind in ("listed", "www", "unlisted"))),
        Row("P4", "Dataset.load of that folder (read, TOML, every lint check, indexes) ÷ reading and parsing "
            "the same files with tomli alone, CPU time",
            f"{load_cpu:.2f} s", f"{parse_cpu:.2f} s", load_ratio, "≤ 2.0", load_ratio <= 2.0,
            f"medians of {rounds} alternating fresh processes each; wall: loads took {loads} s, tomli alone "
            f"{floors} s, ratio of the medians {wall_ratio:.2f}"),
        Row("P4", "resident memory after the load (peak in the note)", f"{result['rss_mb']:,} MB", "", None,
            "≤ 600 MB", result["rss_mb"] <= 600, f"peak {result['peak_rss_mb']:,} MB; TOML parser: {result['toml']}"),
    ]


# --- fault drills: the load run with the resolver dead, Redis hung, workers killed with a broken file ---

DRILL_FAULT_SECONDS = 10
DRILL_PROBE_EVERY = 0.2


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_fastdns(name: str, port: int, log_dir: Path) -> Service:
    service = Service(name, [PYTHON, str(BENCH / "fastdns.py"), "--host", "127.0.0.1", "--port", str(port),
                             "--names", str(max(LOAD_POOL, P3_NAMES)), "--prefix", "load-", "--test-zones"],
                      log_dir=log_dir, stdin=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while "ready" not in service.tail():
        if service.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start:\n{service.tail()}")
        time.sleep(0.05)
    return service


def start_redis(name: str, port: int, log_dir: Path) -> Service:
    redis = shutil.which("redis-server")
    if redis is None:
        raise RuntimeError("redis-server is missing; `make bench` installs it")
    service = Service(name, [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                      log_dir=log_dir)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return service
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{service.tail()}") from None
            time.sleep(0.05)


class DrillProbe(threading.Thread):
    """Beside wrk: a check for a name no cache holds (so DNS is asked), then /healthz, every 0.2 s,
    each timed, with its status and what the answer says about DNS and Redis."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.samples, self.started = port, [], time.monotonic()
        self._stop_event = threading.Event()

    def run(self) -> None:
        number = LOAD_POOL  # names past wrk's pool: in the DNS zone, in no cache
        while not self._stop_event.wait(DRILL_PROBE_EVERY):
            name = f"load-{number:06d}.{('com', 'org', 'net', 'de', 'co.uk')[number % 5]}"
            number = LOAD_POOL + (number - LOAD_POOL + 1) % (P3_NAMES - LOAD_POOL)
            for path in (f"/api/v1/check?domain={name}", "/healthz"):
                began = time.monotonic()
                try:
                    status, _, body = http_get(self.port, path, timeout=15)
                    answer = json.loads(body)
                except (OSError, ValueError) as err:
                    status, answer = 0, {"error": str(err)}
                sample = {"t": round(began - self.started, 2), "path": path.split("?")[0], "status": status,
                          "ms": round((time.monotonic() - began) * 1000, 1)}
                if path == "/healthz":
                    sample["redis_ok"] = answer.get("cache", {}).get("redis_ok")
                    sample["health"] = answer.get("status")
                else:
                    sample["dns"] = answer.get("infrastructure", {}).get("status")
                    if sample["dns"] == "unavailable":
                        sample["why"] = answer["infrastructure"].get("reason", "")[:100]
                self.samples.append(sample)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=20)


def _window(samples: list[dict], start: float, end: float, path: str) -> list[dict]:
    return [s for s in samples if start <= s["t"] < end and s["path"] == path]


def _ms(samples: list[dict]) -> str:
    if not samples:
        return "no samples"
    values = sorted(s["ms"] for s in samples)
    return f"median {statistics.median(values):.0f} ms, max {values[-1]:.0f} ms ({len(values)} probes)"


class SilentResolver:
    """A DNS server that reads every question and answers none: a resolver that is dead, not gone
    (a stopped one is refused at once by the kernel; a dead one costs every lookup its whole budget)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(0.2)
        self._stop_event = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.sock.recv(4096)
            except OSError:
                continue

    def stop(self) -> None:
        self._stop_event.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _workers(master: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(master), "-f", "caseflag serve"], capture_output=True, text=True,
                           check=False).stdout.split()
    return [int(pid) for pid in found]


def drill_run(log_dir: Path, seconds: int, with_redis: bool) -> dict:
    """The load run (wrk, 200 connections, the cache-evicting pool) with faults injected by the clock,
    10 s each. No Redis: the resolver dead (silent), then a record broken and every worker killed
    (SIGKILL; gunicorn starts new ones, which find data/ broken). With Redis: the resolver dead,
    then Redis hung (SIGSTOP: connections accepted, nothing answered)."""
    tag = "drill-redis" if with_redis else "drill"
    dns_port = free_udp_port()
    dns = start_fastdns(f"{tag}-dns", dns_port, log_dir)
    redis = None
    data = log_dir / f"{tag}-data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(REPO / "data", data)
    extra = {"CACHE_SIZE": str(LOAD_CACHE), "DATA_DIR": str(data), "RELOAD_INTERVAL": "1"}
    if with_redis:
        redis_port = free_port()
        redis = start_redis(f"{tag}-redis", redis_port, log_dir)
        extra["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    port = free_port()
    server = caseflag_serve(f"{tag}-server", port, f"127.0.0.1:{dns_port}", log_dir, **extra)
    faults: dict[str, tuple[float, float]] = {}
    plan = [("dns", seconds * 0.25), ("redis" if with_redis else "worker", seconds * 0.6)]
    probe = DrillProbe(port)
    result: dict = {}
    broken = data / "entities" / "zz-drill-broken.toml"

    def inject() -> None:
        nonlocal dns
        for kind, at in plan:
            time.sleep(max(at - (time.monotonic() - probe.started), 0))
            began = time.monotonic() - probe.started
            if kind == "dns":
                dns.stop()
                silent = SilentResolver(dns_port)
            elif kind == "redis":
                redis.process.send_signal(signal.SIGSTOP)
            else:
                broken.write_text('id = "zz-drill-broken"\n', encoding="utf-8")
                time.sleep(1.5)  # past one reload look: the running workers keep the last good list
                for pid in _workers(server.pid):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(DRILL_FAULT_SECONDS)
            if kind == "dns":
                silent.stop()
                dns = start_fastdns(f"{tag}-dns-again", dns_port, log_dir)
            elif kind == "redis":
                redis.process.send_signal(signal.SIGCONT)
            else:
                broken.unlink()
            faults[kind] = (began, time.monotonic() - probe.started)

    injector = threading.Thread(target=inject, daemon=True)
    try:
        probe.start()
        injector.start()
        result = run_wrk(port, "/", seconds, 200, "pool.lua", [str(LOAD_POOL), "load-"])
        injector.join(timeout=60)
        probe.stop()
    finally:
        result["master_alive"] = server.process.poll() is None
        server.stop()
        dns.stop()
        if redis is not None:
            with contextlib.suppress(ProcessLookupError):
                redis.process.send_signal(signal.SIGCONT)
            redis.stop()
    result.update(faults=faults, samples=probe.samples, with_redis=with_redis, seconds=seconds)
    (log_dir / f"{tag}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def drill_summary(result: dict) -> dict:
    """The figures RESULTS.md reports: 5xx, latency before and during each fault, time to recover."""
    samples = result["samples"]
    statuses = {int(key): value for key, value in result["statuses"].items()}
    probe_5xx = sum(1 for s in samples if s["status"] >= 500)
    summary = {"wrk_requests": result["requests"], "wrk_5xx": sum(v for k, v in statuses.items() if k >= 500),
               "wrk_statuses": dict(sorted(statuses.items())), "probe_5xx": probe_5xx,
               "probe_failures": sum(1 for s in samples if s["status"] == 0),
               "socket_errors": sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")),
               "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000, "faults": {}}
    first_fault = min(start for start, _ in result["faults"].values()) if result["faults"] else result["seconds"]
    healthy = _window(samples, 2, first_fault, "/api/v1/check")
    summary["before"] = {"check": _ms(healthy), "healthz": _ms(_window(samples, 2, first_fault, "/healthz")),
                         "unavailable": sum(1 for s in healthy if s.get("dns") == "unavailable")}
    for kind, (start, end) in result["faults"].items():
        during_checks = _window(samples, start, end, "/api/v1/check")
        figures = {"from_s": round(start, 1), "to_s": round(end, 1),
                   "check_during": _ms(during_checks), "healthz_during": _ms(_window(samples, start, end, "/healthz")),
                   "check_after": _ms(_window(samples, end, end + 10, "/api/v1/check"))}
        healthz_during = _window(samples, start, end, "/healthz")
        figures["healthz_worst_ms"] = max((s["ms"] for s in healthz_during), default=None)
        figures["healthz_degraded"] = sum(1 for s in healthz_during if s.get("health") == "degraded")
        figures["probe_5xx_during"] = sum(1 for s in samples if start <= s["t"] < end and s["status"] >= 500)
        if kind == "dns":
            figures["unavailable_answers_during"] = sum(1 for s in during_checks if s.get("dns") == "unavailable")
            resolved = [s["t"] for s in samples if s["t"] >= end and s.get("dns") == "resolved"]
            figures["recovered_after_s"] = round(resolved[0] - end, 2) if resolved else None
        elif kind == "worker":
            back = [s["t"] for s in samples if s["t"] >= end and s.get("health") == "ok"]
            figures["recovered_after_s"] = round(back[0] - end, 2) if back else None
        else:
            down = [s for s in _window(samples, start, end, "/healthz") if s.get("redis_ok") is False]
            figures["healthz_saw_redis_down"] = len(down)
            back = [s["t"] for s in samples if s["t"] >= end and s.get("redis_ok") is True]
            figures["recovered_after_s"] = round(back[0] - end, 2) if back else None
        summary["faults"][kind] = figures
    return summary


def print_drill(result: dict) -> None:
    summary = drill_summary(result)
    label = "with Redis (CASEFLAG_REDIS_URL, redis-server on loopback)" if result["with_redis"] else "no Redis"
    names = {"dns": "resolver dead (silent)", "redis": "Redis hung (SIGSTOP)",
             "worker": "a record broken, every worker killed"}
    print(f"Fault drill, {label}: {result['seconds']} s of the load run; "
          f"requests {summary['wrk_requests']:,}, 5xx {summary['wrk_5xx']} (probe 5xx {summary['probe_5xx']}, "
          f"probe failures {summary['probe_failures']}), statuses {summary['wrk_statuses']}, socket errors "
          f"{summary['socket_errors']}, wrk p50 {summary['p50_ms']:.0f} ms p99 {summary['p99_ms']:.0f} ms")
    print(f"  before any fault: check {summary['before']['check']} ({summary['before']['unavailable']} said DNS "
          f"unavailable); /healthz {summary['before']['healthz']}")
    print(f"  gunicorn's master alive at the end: {result.get('master_alive')}")
    for kind, figures in summary["faults"].items():
        said = {"dns": f"{figures.get('unavailable_answers_during')} probe answers said DNS unavailable",
                "redis": f"{figures.get('healthz_saw_redis_down')} /healthz probes said Redis down",
                "worker": "the broken record removed at the end"}[kind]
        print(f"  {names[kind]} {figures['from_s']}-{figures['to_s']} s: check {figures['check_during']}; /healthz "
              f"{figures['healthz_during']} (worst {figures['healthz_worst_ms']} ms, {figures['healthz_degraded']} "
              f"said degraded, probe 5xx {figures['probe_5xx_during']}); 10 s after: check {figures['check_after']}; "
              f"recovered {figures['recovered_after_s']} s after; {said}")


# --- the table -----------------------------------------------------------------------------------

def print_table(rows: list[Row]) -> None:
    print()
    print("| bench | what | measured | baseline | ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        met = {True: "yes", False: "**no**", None: "n/a"}[row.met]
        print(f"| {row.name} | {row.what} | {row.measured} | {row.baseline} | {ratio} | {row.target} | {met} |")
    notes = [f"{row.name}: {row.note}" for row in rows if row.note]
    if notes:
        print()
        print("\n".join(notes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="load,drill,p1,p2,p3,p4,p5,p6", help="comma-separated parts to run "
                        "(drill: the load run twice more: with the resolver dead, then a record broken and every worker killed; and with the resolver dead, then Redis hung)")
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="short runs and a 100,000-domain P4, to try the bench")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    quick = args.quick
    load_seconds = 10 if quick else args.load_seconds
    missing = [tool for tool in ("wrk", "adnshost") if not shutil.which(tool)]
    if missing:
        print(f"bench: {', '.join(missing)} not found; run `make bench`, which installs them", file=sys.stderr)
        return 2

    info = machine()
    print(f"caseflag bench, {time.strftime('%Y-%m-%d %H:%M %Z')}: {info['nproc']} cores ({info['cpu']}), "
          f"{info['memory_gib']} GiB, Python {info['python']}; load average at start "
          f"{' '.join(f'{x:.2f}' for x in info['load_average'])}")
    rows: list[Row] = []
    log_dir = Path(tempfile.mkdtemp(prefix="caseflag-bench-"))
    dns_service = server = None
    try:
        names_file = log_dir / "p3-names.txt"
        sys.path.insert(0, str(BENCH))
        from fastdns import bench_names

        p3_names = bench_names(P3_NAMES, "p3-")
        names_file.write_text("\n".join(p3_names) + "\n", encoding="utf-8")
        mixed_file = log_dir / "p3-mixed.txt"
        mixed_names = bench_names(P3_NAMES, "mix-")
        mixed_file.write_text("\n".join(mixed_names) + "\n", encoding="utf-8")
        dns_host, dns_port = (P3_DNS_HOST, 53) if os.geteuid() == 0 else ("127.0.0.1", free_port())
        dns_service = Service("fastdns", [PYTHON, str(BENCH / "fastdns.py"), "--host", dns_host, "--port",
                                          str(dns_port), "--names", str(max(LOAD_POOL, P3_NAMES)), "--prefix",
                                          "load-", "--prefix", "p3-", "--test-zones", "--mixed-prefix", "mix-"],
                              log_dir=log_dir, stdin=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while "ready" not in dns_service.tail() and time.monotonic() < deadline:
            if dns_service.process.poll() is not None:
                raise RuntimeError(f"the bench DNS server did not start:\n{dns_service.tail()}")
            time.sleep(0.1)
        dns = f"{dns_host}:{dns_port}"

        if "load" in parts or "p1" in parts:
            if "load" in parts:
                result, server, server_port = load_run(dns, log_dir, load_seconds)
                print_load(result, load_seconds)
            else:
                server_port = free_port()
                server = caseflag_serve("load-server", server_port, dns, log_dir)
            if "p1" in parts:
                rows.append(p1(server_port, log_dir, 4 if quick else 8))
            server.stop()
            server = None
        if "drill" in parts:
            for with_redis in (False, True):
                print_drill(drill_run(log_dir, load_seconds, with_redis))
        if "p2" in parts:
            rows.append(p2(log_dir, 5 if quick else 15))
        if "p3" in parts:
            if dns_port != 53:
                rows.append(Row("P3", "skipped: adnshost needs a DNS server on port 53 (run as root)", "", "", None,
                                "≥ 0.5", None))
            else:
                rows += p3(names_file, p3_names, log_dir)
                rows += p3_mixed(mixed_file, mixed_names, log_dir)
        if "p4" in parts:
            rows += p4(log_dir, 1_000 if quick else 10_000, 100)
        if "p5" in parts:  # the extension's built-in index: bench/p5_extension.py
            from p5_extension import p5

            rows += [Row(**row) for row in p5(rounds=1 if quick else 3)]
        if "p6" in parts:  # navigation to badge in Chromium, built-in list vs server: bench/p6_badge.py
            from p6_badge import p6

            rows += [Row(**row) for row in p6(rounds=1 if quick else 3)]
    finally:
        if server is not None:
            server.stop()
        if dns_service is not None:
            dns_service.stop()
    print_table(rows)
    print(f"\nlogs and outputs: {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
