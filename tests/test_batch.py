"""`caseflag batch`: a real subprocess against the test DNS server, plus the window and row logic in process."""

import asyncio
import contextlib
import csv
import io
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caseflag.commands.batch import BatchRun, Options
from caseflag.commands.batchio import Item, read_items
from caseflag.exports.batchrecords import CSV_COLUMNS, verdict_row
from caseflag.commands.batchtally import Tally, progress_line

CASEFLAG = str(Path(sys.executable).with_name("caseflag"))

INPUT = (
    b"# researchers' list\n"
    b"www.thepiratebay.org\n"
    b"\n"
    b"https://www.cf-shop.com/shop?x=1   # behind Cloudflare via CNAME\n"
    b"plain-site.org\n"
    b"localhost\n"
    b"not a domain\n"
    b"caf\xe9.com\n"  # Latin-1, not UTF-8
    b"co.uk\n"
)


def dns_env(dns, budget="2"):
    return {**os.environ, "CASEFLAG_DNS_NAMESERVERS": dns.nameserver, "CASEFLAG_DNS_BUDGET": budget}


def run(*args, dns, stdin=None, timeout=120, budget="2"):
    return subprocess.run([CASEFLAG, "batch", *args], input=stdin, capture_output=True, timeout=timeout,
                          env=dns_env(dns, budget))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        return list(reader)


def names_file(tmp_path: Path, count: int, name="names.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"name{n}.batch-test.com\n" for n in range(count)), encoding="utf-8")
    return path


# --- the command ----------------------------------------------------------------------------

def test_csv_has_the_exact_columns_and_one_row_per_input_line(dns, tmp_path):
    """Comments and blank lines are skipped; bad lines become rows with an error code; rows carry line numbers."""
    source = tmp_path / "in.txt"
    source.write_bytes(INPUT)
    out = tmp_path / "out.csv"
    result = run(str(source), "--output", str(out), dns=dns)
    assert result.returncode == 0, result.stderr.decode()
    rows = read_csv(out)
    assert [(row["line"], row["input"]) for row in rows] == [
        ("2", "www.thepiratebay.org"), ("4", "https://www.cf-shop.com/shop?x=1"), ("5", "plain-site.org"),
        ("6", "localhost"), ("7", "not a domain"), ("8", "caf\\xe9.com"), ("9", "co.uk")]
    pirate, shop, plain, local, spaced, undecodable, suffix = rows
    assert pirate["level"] == "target" and pirate["registrable_domain"] == "thepiratebay.org"
    assert pirate["entities"].split(";")[0] == "the-pirate-bay"
    assert "pirate-bay-trial-sweden" in pirate["cases"].split(";")
    assert pirate["providers"] == "cloudflare" and pirate["infrastructure_status"] == "resolved"
    assert "The Pirate Bay" in pirate["reason"] and pirate["error"] == ""
    assert shop["hostname"] == "www.cf-shop.com" and shop["level"] == "infrastructure"
    assert plain["level"] == "none" and plain["entities"] == "" and plain["cases"] == ""
    assert (local["error"], suffix["error"], spaced["error"]) == ("not_public", "not_public", "invalid_domain")
    assert local["level"] == "" and local["reason"]
    assert undecodable["error"] == "invalid_input" and "line 8" in undecodable["reason"]
    stderr = result.stderr.decode()
    assert "by level:" in stderr and "target 1" in stderr and "infrastructure 1" in stderr
    assert "by provider:    cloudflare 2" in stderr
    assert "errors:         4" in stderr and "not_public 2" in stderr
    assert "\r" not in stderr and "Traceback" not in stderr


def test_csv_level_related_names_the_cases_that_tie_the_site(tmp_path):
    """mega.nz: level related; cases are those of the related entity (Megaupload)."""
    source = tmp_path / "in.txt"
    source.write_text("mega.nz\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = subprocess.run([CASEFLAG, "batch", str(source), "--output", str(out), "--offline"],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    (row,) = read_csv(out)
    assert (row["level"], row["entities"], row["cases"]) == ("related", "mega", "united-states-v-dotcom")
    assert "related 1" in result.stderr.decode()


def test_jsonl_from_stdin_gives_the_same_verdict_as_the_api(dns, client):
    """Each JSON line is the API's answer for that input, plus its line number; errors are inline."""
    result = run("-", "--full", dns=dns, stdin=b"thepiratebay.org\nlocalhost\nwww.cf-shop.com\n")
    assert result.returncode == 0, result.stderr.decode()
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3]
    assert records[1] == {"line": 2, "query": "localhost", "error": records[1]["error"], "status": 422}
    assert records[1]["error"]["code"] == "not_public"
    for record in (records[0], records[2]):
        api = client.get("/api/v1/check", query_string={"domain": record["query"]}).get_json()
        for key in ("hostname", "registrable_domain", "verdict", "matches"):
            assert record[key] == api[key]
        strip = lambda infra: {k: v for k, v in infra.items() if k != "elapsed_ms"}  # noqa: E731
        assert strip(record["infrastructure"]) == strip(api["infrastructure"])


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_after_a_partial_file_adds_only_the_missing_lines(dns, tmp_path, fmt):
    """A file cut mid-record (a hard kill) is repaired; done lines are neither asked again nor duplicated."""
    source = names_file(tmp_path, 40)
    out = tmp_path / f"out.{fmt}"
    assert run(str(source), "-o", str(out), "--format", fmt, dns=dns).returncode == 0
    complete = out.read_text(encoding="utf-8").splitlines(keepends=True)
    keep = 16 if fmt == "jsonl" else 17  # the CSV header plus 16 records
    out.write_text("".join(complete[:keep]) + complete[keep][:25], encoding="utf-8")
    dns.clear()

    result = run(str(source), "-o", str(out), "--format", fmt, "--resume", dns=dns)
    assert result.returncode == 0, result.stderr.decode()
    records = read_jsonl(out) if fmt == "jsonl" else read_csv(out)
    lines = [int(r["line"]) for r in records]
    assert lines == list(range(1, 41)), "every line once, in order"
    asked = dns.names_asked()
    assert "name0.batch-test.com" not in asked and "name15.batch-test.com" not in asked
    assert "name16.batch-test.com" in asked and "name39.batch-test.com" in asked
    assert "skipped:        16 already in" in result.stderr.decode()


@pytest.mark.parametrize("fmt, content", [
    ("jsonl", "my own notes\n"), ("jsonl", "my own notes, no newline"), ("csv", "a,b\n1,2\n"),
    ("csv", "notes without a newline"), ("jsonl", '{"line": 1, "query": "a.com"}\n{"other": 1}\n'),
])
def test_resume_refuses_a_file_it_did_not_write_and_leaves_it_untouched(dns, tmp_path, fmt, content):
    source = names_file(tmp_path, 3)
    out = tmp_path / f"notes.{fmt}"
    out.write_text(content, encoding="utf-8")
    result = run(str(source), "-o", str(out), "--format", fmt, "--resume", dns=dns)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("caseflag: error:") and "Traceback" not in result.stderr.decode()
    assert out.read_text(encoding="utf-8") == content


@pytest.mark.parametrize("args, message", [
    (["/no/such/file.txt"], "cannot read the input /no/such/file.txt"),
    (["{names}", "-o", "/no/such/dir/out.jsonl"], "cannot write the output"),
    (["{names}", "--resume"], "--resume needs --output"),
    (["{names}", "--concurrency", "0"], "--concurrency must be from 1"),
    (["{names}", "-o", "{names}"], "is the input file"),
    (["{folder}"], "Is a directory"),
])
def test_usage_problems_are_messages_with_status_2(dns, tmp_path, args, message):
    names = names_file(tmp_path, 2)
    before = names.read_bytes()
    result = run(*[a.format(names=names, folder=tmp_path) for a in args], dns=dns)
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert stderr.startswith("caseflag: error:") and message in stderr and "Traceback" not in stderr
    assert names.read_bytes() == before


def test_two_thousand_names_resolve_against_the_test_server(dns, tmp_path):
    """Every generated name is asked for and answered NXDOMAIN; the records come out in input order."""
    source = names_file(tmp_path, 2000)
    out = tmp_path / "out.jsonl"
    # The loopback test server drops UDP packets beyond ~100 lookups in flight; real resolvers do not.
    result = run(str(source), "-o", str(out), "--concurrency", "50", dns=dns, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    records = read_jsonl(out)
    assert [r["line"] for r in records] == list(range(1, 2001))
    assert {r["infrastructure"]["status"] for r in records} == {"nxdomain"}
    assert {f"name{n}.batch-test.com" for n in range(2000)} <= dns.names_asked()
    assert "by level:       none 2,000" in result.stderr.decode()


def test_lookups_really_run_concurrently(dns, tmp_path):
    """60 names with every DNS answer delayed 0.25 s: one at a time would take 15 s at least."""
    dns.delay = 0.25
    source = names_file(tmp_path, 60)
    started = time.monotonic()
    result = run(str(source), "--concurrency", "60", dns=dns)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr.decode()
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert {r["infrastructure"]["status"] for r in records} == {"nxdomain"}
    assert elapsed < 6, f"took {elapsed:.1f} s"


def interrupt_after_20_records(dns, tmp_path, *options: str):
    """Runs a batch of 300 slow names, sends SIGINT once 20 records are out, and checks what any
    interrupted run must leave: exit 130, a message, no traceback, whole records 1..k in order."""
    dns.delay = 0.2
    source = names_file(tmp_path, 300)
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen([CASEFLAG, "batch", str(source), "-o", str(out), "--concurrency", "10", *options],
                               stderr=subprocess.PIPE, env=dns_env(dns))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 20):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr.decode()
    assert "interrupted" in stderr.decode() and "Traceback" not in stderr.decode()
    assert out.read_text(encoding="utf-8").endswith("\n")
    partial = read_jsonl(out)
    assert 20 <= len(partial) < 300
    assert [r["line"] for r in partial] == list(range(1, len(partial) + 1))
    return source, out, partial


def test_ctrl_c_leaves_whole_records_and_resume_finishes(dns, tmp_path):
    """SIGINT: exit 130, every line of the output a whole record; --resume then completes the file."""
    source, out, _ = interrupt_after_20_records(dns, tmp_path)

    dns.delay = 0.0
    result = run(str(source), "-o", str(out), "--resume", dns=dns)
    assert result.returncode == 0, result.stderr.decode()
    assert [r["line"] for r in read_jsonl(out)] == list(range(1, 301))


def test_progress_bar_is_drawn_only_on_a_terminal(dns, tmp_path):
    """With stderr on a pseudo-terminal the bar is redrawn with \\r and shows rate, ETA and levels."""
    source = tmp_path / "in.txt"
    source.write_text("thepiratebay.org\n" + "".join(f"n{n}.batch-test.com\n" for n in range(30)), encoding="utf-8")
    controller, terminal = pty.openpty()
    process = subprocess.Popen([CASEFLAG, "batch", str(source), "-o", str(tmp_path / "out.jsonl")],
                               stderr=terminal, stdout=subprocess.DEVNULL, env=dns_env(dns))
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0
    text = seen.decode()
    assert "\r" in text and "/31" in text and "/s" in text and "target" in text and "errors" in text
    assert "by level:" in text  # the summary follows the bar


# --- in process: rows, input, window ---------------------------------------------------------

def test_read_items_skips_comments_and_keeps_physical_line_numbers():
    data = b"\xef\xbb\xbfa.com\r\n  # note\n\n b.com  # why\n\xff\n"
    items = list(read_items(io.BytesIO(data)))
    assert [(i.line, i.text) for i in items] == [(1, "a.com"), (4, "b.com"), (5, "\\xff")]
    assert items[0].error is None and items[2].error.code == "invalid_input"


def test_verdict_row_for_an_error():
    error = verdict_row({"query": "x y", "error": {"code": "invalid_domain", "message": "bad"}, "status": 400}, 3)
    assert error == {**dict.fromkeys(CSV_COLUMNS, ""), "input": "x y", "reason": "bad", "line": "3",
                     "error": "invalid_domain"}


def test_progress_line_shows_rate_eta_and_levels():
    tally = Tally(records=50, skipped=50)
    tally.levels.update({"target": 2, "none": 48})
    tally.errors.update({"not_public": 1})
    line = progress_line(tally, total=200, elapsed=10.0)
    assert line.startswith("100/200 (50%)") and "5/s" in line and "ETA 0:00:20" in line
    assert "target 2" in line and "none 48" in line and "errors 1" in line and "unavailable 0" in line
    assert len(progress_line(tally, total=200, elapsed=10.0, width=30)) <= 29


class _SlowService:
    """Stands in for LookupService: counts lookups in flight and how far they run ahead of the writer."""

    def __init__(self, written: list) -> None:
        self.written = written
        self.in_flight = self.most_in_flight = self.started = self.most_ahead = 0

    def session(self):
        return contextlib.nullcontext()

    async def check_one_async(self, text, lang, offline, session=None):
        self.started += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.most_ahead = max(self.most_ahead, self.started - len(self.written))
        # The first lookup is slow: the writer must wait for it while the others finish.
        await asyncio.sleep(0.3 if text == "n0.com" else 0.001)
        self.in_flight -= 1
        return {"query": text, "verdict": {"level": "none"}, "matches": [],
                "infrastructure": {"status": "resolved", "providers": []}}


def _collect(written: list):
    """An emit that keeps each record's line, as the writer would write them."""
    return lambda data, keys: written.extend(data.decode().splitlines(keepends=True))


@pytest.mark.parametrize("blocking_input", [True, False], ids=["reader-thread", "read-in-loop"])
def test_window_bounds_lookups_and_unwritten_records(blocking_input):
    """At most `concurrency` lookups at once, at most 2×concurrency ahead of the writer, output in order."""
    written: list = []
    service = _SlowService(written)
    run = BatchRun(service, _collect(written), Options(concurrency=8, retries=0))
    run.run(iter([Item(n + 1, f"n{n}.com") for n in range(500)]), blocking_input=blocking_input)
    assert service.most_in_flight == 8
    # the queue of 2×8, the record the writer is waiting on, and the one the reader holds while the queue is full
    assert service.most_ahead <= 2 * 8 + 2
    assert [json.loads(line)["line"] for line in written] == list(range(1, 501))


def test_an_interrupted_run_never_writes_past_a_gap():
    """Cancelled while the first lookup is still running: the finished ones after it are not written."""
    written: list = []
    service = _SlowService(written)
    run = BatchRun(service, _collect(written), Options(concurrency=8, retries=0))

    async def interrupt():
        task = asyncio.ensure_future(run._run(iter([Item(n + 1, f"n{n}.com") for n in range(12)])))
        while service.started < 12 or service.in_flight > 1:  # everything but the slow first one is done
            await asyncio.sleep(0.01)
        task.cancel()
        assert not task.done()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupt())
    assert written == []


def _comparable(record: dict) -> dict:
    """A record without what differs between two runs of the same input (the time, DNS timing),
    and `cached`: the workers of --jobs do not share a cache, so a repeated name may be asked again."""
    record = {key: value for key, value in record.items() if key not in ("checked_at", "cached")}
    if isinstance(record.get("infrastructure"), dict):
        record["infrastructure"] = {k: v for k, v in record["infrastructure"].items() if k != "elapsed_ms"}
    return record


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_jobs_write_the_same_records_in_the_same_order(dns, tmp_path, fmt):
    """--jobs 3 splits the lines between three processes; the output is the one process's."""
    source = tmp_path / "mixed.txt"
    source.write_bytes(INPUT + b"".join(f"name{n}.batch-test.com\n".encode() for n in range(40)) + INPUT)
    outputs = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"out-{jobs}.{fmt}"
        result = run(str(source), "-o", str(out), "--format", fmt, "--jobs", jobs, "--concurrency", "12", dns=dns)
        assert result.returncode == 0, result.stderr.decode()
        outputs[jobs] = (read_jsonl(out) if fmt == "jsonl" else read_csv(out)), result.stderr.decode()
    (one, one_summary), (three, three_summary) = outputs["1"], outputs["3"]
    assert len(one) == len(three) == 2 * 7 + 40
    one, three = [_comparable(r) for r in one], [_comparable(r) for r in three]
    assert three == one
    assert three_summary.split("\n", 1)[1] == one_summary.split("\n", 1)[1]  # the same counts


def test_jobs_resume_and_ctrl_c_keep_whole_records_in_order(dns, tmp_path):
    """With --jobs 2: SIGINT leaves whole records, lines 1..k with no gap; --resume with jobs
    finishes the file, skipping what is there; the result is every line once, in order."""
    source, out, partial = interrupt_after_20_records(dns, tmp_path, "--jobs", "2")

    dns.delay = 0.0
    dns.clear()
    result = run(str(source), "-o", str(out), "--resume", "--jobs", "2", dns=dns)
    assert result.returncode == 0, result.stderr.decode()
    assert [r["line"] for r in read_jsonl(out)] == list(range(1, 301))
    assert f"skipped:        {len(partial)} already in" in result.stderr.decode()
    assert "name0.batch-test.com" not in dns.names_asked() and "name299.batch-test.com" in dns.names_asked()


def test_jobs_auto_runs_a_process_per_core_for_a_big_file_and_writes_the_same(dns, tmp_path):
    """The default (--jobs auto) shares a file of 32 KiB or more between the usable cores (at most
    four); a smaller file, and --jobs 1, run in one process. The records are the same either way,
    whether they go to a file or, spliced from the workers' pipes, to a pipe on standard output."""
    from caseflag.commands.batch import AUTO_JOBS_FROM, AUTO_JOBS_MAX, usable_cores

    source = tmp_path / "many.txt"
    lines = [f"plain-site.org/{n}" if n % 3 else f"www.thepiratebay.org/page/{n}" for n in range(2500)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert source.stat().st_size >= AUTO_JOBS_FROM
    expected_jobs = min(usable_cores(), AUTO_JOBS_MAX)
    one = run(str(source), "--offline", "--jobs", "1", dns=dns)
    auto = run(str(source), "--offline", dns=dns)
    to_file = run(str(source), "--offline", "-o", str(tmp_path / "out.jsonl"), dns=dns)
    for result in (one, auto, to_file):
        assert result.returncode == 0, result.stderr.decode()
    assert "processes)" not in one.stderr.decode().splitlines()[0]
    for result in (auto, to_file):
        first = result.stderr.decode().splitlines()[0]
        assert (f"{expected_jobs} processes)" in first) if expected_jobs > 1 else ("processes)" not in first)
    records = [_comparable(json.loads(line)) for line in one.stdout.decode().splitlines()]
    assert [r["line"] for r in records] == list(range(1, 2501))
    assert [_comparable(json.loads(line)) for line in auto.stdout.decode().splitlines()] == records
    assert [_comparable(r) for r in read_jsonl(tmp_path / "out.jsonl")] == records
    small = run(str(names_file(tmp_path, 20)), "--offline", dns=dns)
    assert "processes)" not in small.stderr.decode().splitlines()[0]


def test_a_worker_that_dies_ends_the_run_with_an_error_and_whole_records(dns, tmp_path):
    """A pool waits for ever for a chunk whose worker was killed; the batch notices, stops with one
    error line and exit 2, and the output holds whole records in order, for --resume to finish."""
    dns.delay = 0.2
    source, out = names_file(tmp_path, 300), tmp_path / "out.jsonl"
    process = subprocess.Popen([CASEFLAG, "batch", str(source), "-o", str(out), "--concurrency", "10", "--jobs", "2"],
                               stderr=subprocess.PIPE, env=dns_env(dns))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 20):
        time.sleep(0.05)
    workers = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2, stderr.decode()
    assert stderr.decode().strip().splitlines()[-1].startswith("caseflag: error: a batch worker process died")
    assert "Traceback" not in stderr.decode()
    lines = [r["line"] for r in read_jsonl(out)]
    assert lines == list(range(1, len(lines) + 1))
    dns.delay = 0.0
    assert run(str(source), "-o", str(out), "--resume", dns=dns).returncode == 0
    assert [r["line"] for r in read_jsonl(out)] == list(range(1, 301))


def test_jobs_is_a_number_or_auto(dns, tmp_path):
    for bad in ("0", "65", "two"):
        result = run(str(names_file(tmp_path, 2)), "--offline", "--jobs", bad, dns=dns)
        assert result.returncode == 2 and b"--jobs" in result.stderr and b"Traceback" not in result.stderr


def test_ctrl_c_at_a_terminal_with_jobs_stops_every_worker(dns, tmp_path):
    """A terminal's Ctrl-C signals the whole foreground group: the workers ignore it and the parent
    stops the pool after the records already written. Exit 130, whole records 1..k, and no worker
    left running."""
    dns.delay = 0.2
    source, out = names_file(tmp_path, 300), tmp_path / "out.jsonl"
    process = subprocess.Popen([CASEFLAG, "batch", str(source), "-o", str(out), "--concurrency", "10", "--jobs", "2"],
                               stderr=subprocess.PIPE, env=dns_env(dns), start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 20):
        time.sleep(0.05)
    workers = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
    assert len(workers) == 2
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "Traceback" not in stderr.decode(), stderr.decode()
    lines = [r["line"] for r in read_jsonl(out)]
    assert 20 <= len(lines) < 300 and lines == list(range(1, len(lines) + 1))
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()


def test_jobs_on_standard_input_run_in_one_process(dns):
    result = run("-", "--jobs", "4", dns=dns, stdin=b"plain-site.org\nwww.thepiratebay.org\n")
    assert result.returncode == 0, result.stderr.decode()
    assert [json.loads(line)["line"] for line in result.stdout.decode().splitlines()] == [1, 2]


def test_special_use_names_are_error_records_and_never_reach_dns(dns, tmp_path, onion_data):
    """The batch refuses special-use names like the API: not_public records, no query sent for them."""
    from conftest import TPB_ONION

    source = tmp_path / "names.txt"
    source.write_text(f"shop.onion\nprinter.home.arpa\nexample.com\n{TPB_ONION}\nthepiratebay.org:99999\n"
                      "plain-site.org\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    env = {**dns_env(dns), "CASEFLAG_DATA_DIR": str(onion_data)}
    done = subprocess.run([CASEFLAG, "batch", str(source), "-o", str(out)], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    records = read_jsonl(out)
    assert [r.get("error", {}).get("code") for r in records] == ["not_public", "not_public", "not_public", None,
                                                                 "invalid_domain", None]
    assert records[3]["infrastructure"]["status"] == "skipped" and records[3]["verdict"]["level"] == "target"
    assert records[5]["infrastructure"]["status"] == "resolved"
    asked = dns.names_asked()
    assert "plain-site.org" in asked
    assert not [name for name in asked if name.endswith(("onion", "arpa", "example.com", "thepiratebay.org"))]


def test_hostile_dns_neither_stops_nor_slows_the_rest_of_the_list(dns, tmp_path):
    """Hostile names mixed into a list: every record written, in order, normal names resolved, and
    the run takes about what the same list without them takes, plus one budget at most."""
    from dnsserver import HOSTILE

    budget = 1.0
    normal = ["www.thepiratebay.org", "www.cf-shop.com", "plain-site.org", "no-address.org"] * 10
    mixed = [name for pair in zip(normal, sorted(HOSTILE) * 4) for name in pair]
    timings = {}
    for label, names in (("normal", normal), ("mixed", mixed)):
        source = tmp_path / f"{label}.txt"
        source.write_text("\n".join(names) + "\n", encoding="utf-8")
        out = tmp_path / f"{label}.jsonl"
        started = time.monotonic()
        # --retries 0: the hostile names are asked once, as the normal ones (retries would ask again, by design)
        done = run(str(source), "-o", str(out), "--retries", "0", dns=dns, budget=str(budget), timeout=60)
        timings[label] = time.monotonic() - started
        assert done.returncode == (3 if label == "mixed" else 0), done.stderr  # 3: some lookups failed
    records = read_jsonl(tmp_path / "mixed.jsonl")
    assert [r["line"] for r in records] == list(range(1, len(mixed) + 1))
    assert [r["query"] for r in records] == mixed
    for record in records:
        status = record["infrastructure"]["status"]
        if record["query"] in HOSTILE:
            assert status == "unavailable" and record["infrastructure"]["reason"], record["query"]
        else:
            assert status == "resolved", record
    assert timings["mixed"] <= timings["normal"] + budget + 1.5, timings


def test_records_are_the_apis_text_byte_for_byte(dns, client, tmp_path):
    """Each JSON line is the API's JSON text with the line number first, and each CSV row the API's
    CSV row with the line's number: same bytes, however the batch puts them together (timestamps,
    timings and the cached flag aside, which differ between any two runs)."""
    import re

    names = ["www.thepiratebay.org", "cf-shop.com", "www.cf-shop.com", "plain-site.org", "servfail.com",
             "asn-only.com", "xn--mnchen-3ya.de", "no-such-name.com"]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(names) + "\n", encoding="utf-8")
    changing = re.compile(r'"checked_at":"[^"]*"|"elapsed_ms":\d+|"cached":(true|false)')

    def same(text: str) -> str:
        return changing.sub("~", text)

    jsonl, rows = tmp_path / "out.jsonl", tmp_path / "out.csv"
    for out in (jsonl, rows):
        result = run(str(source), "-o", str(out), "--full", "--retries", "0", dns=dns)
        assert result.returncode == 3, result.stderr.decode()  # servfail.com: unavailable
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    csv_lines = rows.read_bytes().decode("utf-8").splitlines(keepends=True)
    assert len(lines) == len(names) and len(csv_lines) == len(names) + 1
    for number, (name, line, row) in enumerate(zip(names, lines, csv_lines[1:]), start=1):
        response = client.get("/api/v1/check", query_string={"domain": name})
        assert same(line) == same(f'{{"line":{number},' + response.get_data(as_text=True)[1:]), name
        api_row = client.get("/api/v1/check", query_string={"domain": name, "format": "csv"})
        (api_values,) = list(csv.reader(api_row.get_data(as_text=True).splitlines(keepends=True)[1:]))
        api_values[CSV_COLUMNS.index("line")] = str(number)
        (row_values,) = list(csv.reader([row]))
        api_values[CSV_COLUMNS.index("checked_at")] = row_values[CSV_COLUMNS.index("checked_at")]
        buffer = io.StringIO()
        csv.writer(buffer).writerow(api_values)
        assert row == buffer.getvalue(), name
