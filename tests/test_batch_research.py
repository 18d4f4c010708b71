"""`caseflag batch` as researchers run it (issue 22, and issue 21's batch items): the real command
against the loopback DNS server — politeness, failed lookups, outputs, shards, safe CSV, a full disk."""

import csv
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CASEFLAG = str(Path(sys.executable).with_name("caseflag"))


def run(*args, dns, timeout=120, env=None):
    environment = {**os.environ, "CASEFLAG_DNS_NAMESERVERS": dns.nameserver, "CASEFLAG_DNS_BUDGET": "2", **(env or {})}
    return subprocess.run([CASEFLAG, "batch", *args], capture_output=True, timeout=timeout, env=environment)


def lines_of(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def names(tmp_path: Path, count: int, name: str = "names.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"name{n}.batch-test.com\n" for n in range(count)), encoding="utf-8")
    return path


# --- failed lookups: counted, a distinct exit status, asked again on request -----------------

def test_a_resolver_that_refuses_gives_unavailable_counted_exit_3_and_retry_fills_them(dns, tmp_path):
    """After 60 queries the resolver refuses (as a rate-limiting public resolver does): the records
    it refused say `unavailable`, the summary and the summary file count them, the exit status is 3;
    `--resume --retry-unavailable` asks again for those only and leaves every line once, in order."""
    source, out = names(tmp_path, 80), tmp_path / "out.jsonl"
    dns.refuse_after = 60
    first = run(str(source), "-o", str(out), "--retries", "0", "--jobs", "1", dns=dns)
    assert first.returncode == 3, first.stderr.decode()
    records = lines_of(out)
    unavailable = [r["line"] for r in records if r["infrastructure"]["status"] == "unavailable"]
    assert 40 <= len(unavailable) < 80 and "refused" in records[-1]["infrastructure"]["reason"]
    stderr = first.stderr.decode()
    assert f"unavailable:    {len(unavailable)} lookups failed" in stderr and "Traceback" not in stderr
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert summary["output"]["unavailable"] == len(unavailable) and summary["exit_status"] == 3

    dns.clear()
    dns.refuse_after = None
    again = run(str(source), "-o", str(out), "--resume", "--retry-unavailable", dns=dns)
    assert again.returncode == 0, again.stderr.decode()
    records = lines_of(out)
    assert [r["line"] for r in records] == list(range(1, 81))
    assert {r["infrastructure"]["status"] for r in records} == {"nxdomain"}
    asked = dns.names_asked()
    assert f"name{unavailable[0] - 1}.batch-test.com" in asked and "name0.batch-test.com" not in asked
    assert "the output holds 80 records" in again.stderr.decode() or "80 records" in again.stderr.decode()
    assert json.loads(Path(f"{out}.summary.json").read_text())["output"]["unavailable"] == 0


def test_retries_with_backoff_fill_what_a_briefly_refusing_resolver_lost(dns, tmp_path):
    """A resolver that refuses for a moment: the default retries (with backoff) ask again and get answers."""
    source, out = names(tmp_path, 30), tmp_path / "out.jsonl"
    dns.refuse_after = 0
    process = subprocess.Popen([CASEFLAG, "batch", str(source), "-o", str(out), "--jobs", "1"],
                               env={**os.environ, "CASEFLAG_DNS_NAMESERVERS": dns.nameserver},
                               stderr=subprocess.PIPE)
    time.sleep(0.3)
    dns.refuse_after = None
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert {r["infrastructure"]["status"] for r in lines_of(out)} == {"nxdomain"}


def test_rate_holds_the_query_rate_within_ten_percent(dns, tmp_path):
    """--rate 150: the DNS server sees 150 queries a second (first to last query), within 10 %."""
    source = names(tmp_path, 150)
    done = run(str(source), "-o", str(tmp_path / "out.jsonl"), "--rate", "150", "--jobs", "1", dns=dns)
    assert done.returncode == 0, done.stderr.decode()
    times = sorted(dns.times)
    assert len(times) >= 300  # A and AAAA of each name, and the NS of batch-test.com
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 135 <= rate <= 165, f"{rate:.1f} queries/s"


def test_no_asn_asks_no_origin_question(dns, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("plain-site.org\n", encoding="utf-8")
    assert run(str(source), "-o", str(tmp_path / "a.jsonl"), dns=dns).returncode == 0
    assert any(name.endswith("asn.cymru.com") for name in dns.names_asked())
    dns.clear()
    assert run(str(source), "-o", str(tmp_path / "b.jsonl"), "--no-asn", dns=dns).returncode == 0
    assert not any(name.endswith("asn.cymru.com") for name in dns.names_asked())
    assert lines_of(tmp_path / "b.jsonl")[0]["infrastructure"]["asns"] == []


def test_a_site_whose_dns_alone_is_cloudflares_is_not_served_by_it(dns, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("cf-dns-only.org\nthepiratebay.org\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert run(str(source), "-o", str(out), "--full", dns=dns).returncode == 0
    jsonl = tmp_path / "out.jsonl"
    assert run(str(source), "-o", str(jsonl), dns=dns).returncode == 0
    dns_only, served = lines_of(jsonl)
    (provider,) = dns_only["infrastructure"]["providers"]
    assert provider["id"] == "cloudflare" and provider["serves"] is False
    assert dns_only["verdict"]["level"] == "none"
    assert not any("Served by" in reason for reason in dns_only["verdict"]["reasons"])
    assert served["infrastructure"]["providers"][0]["serves"] is True
    with open(out, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert (rows[0]["providers"], rows[0]["served_by"], rows[0]["evidence"]) == ("cloudflare", "", "cloudflare:nameserver")
    assert rows[0]["provider_cases"] == "" and rows[0]["level"] == "none"


# --- outputs: compact by default, .gz, the summary beside, CSV columns -------------------------

def test_compact_records_refer_to_cases_by_id_and_gz_is_written_when_named(dns, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("www.thepiratebay.org\nwww.cf-shop.com\n", encoding="utf-8")
    compact, full = tmp_path / "out.jsonl.gz", tmp_path / "full.jsonl"
    assert run(str(source), "-o", str(compact), dns=dns).returncode == 0
    assert run(str(source), "-o", str(full), "--full", dns=dns).returncode == 0
    assert compact.read_bytes()[:2] == b"\x1f\x8b"
    small, large = lines_of(compact), lines_of(full)
    pirate = small[0]["matches"][0]
    assert pirate["entity"] == "the-pirate-bay" and "pirate-bay-trial-sweden" in pirate["cases"]
    assert all(isinstance(case, str) for match in small[0]["matches"] for case in match["cases"])
    assert [m["entity"]["id"] for m in large[0]["matches"]] == [m["entity"] for m in small[0]["matches"]]
    assert small[0]["verdict"] == large[0]["verdict"] and small[1]["dataset_version"] == large[1]["dataset_version"]
    assert len(gzip.decompress(compact.read_bytes())) * 4 < len(full.read_bytes())
    summary = json.loads(Path(f"{compact}.summary.json").read_text())
    assert summary["output"]["records"] == 2 and summary["output"]["levels"] == {"target": 1, "infrastructure": 1}
    assert summary["dataset_version"] == small[0]["dataset_version"] and "CC BY 4.0" in summary["licence"]


def test_csv_keeps_the_sites_own_cases_apart_from_its_providers(dns, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("www.thepiratebay.org\nwww.cf-shop.com\nplain-site.org\n", encoding="utf-8")
    out = tmp_path / "out.csv.gz"
    assert run(str(source), "-o", str(out), dns=dns).returncode == 0
    with gzip.open(out, "rt", encoding="utf-8", newline="") as stream:
        pirate, shop, plain = list(csv.DictReader(stream))
    assert "pirate-bay-trial-sweden" in pirate["cases"].split(";")
    assert shop["cases"] == "" and shop["provider_cases"] and shop["level"] == "infrastructure"
    assert shop["evidence"].startswith("cloudflare:") and "cname" in shop["evidence"]
    assert shop["addresses"] and shop["dataset_version"] and shop["checked_at"].startswith("20")
    assert plain["asns"] == "AS15133" and plain["providers"] == ""


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x.example/","x")', "+1+1", "-2+3", "@SUM(1+1)"])
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(dns, tmp_path, client, text):
    """OWASP's advice: a cell starting with = + - @ (or tab, CR) gets a leading single quote."""
    source = tmp_path / "in.txt"
    source.write_text(text + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert run(str(source), "-o", str(out), "--offline", dns=dns).returncode == 0
    with open(out, encoding="utf-8", newline="") as stream:
        (row,) = list(csv.DictReader(stream))
    assert row["input"] == "'" + text
    api = client.post("/api/v1/check?format=csv", json={"domains": [text, "thepiratebay.org"]})
    refused, fine = list(csv.DictReader(api.get_data(as_text=True).splitlines()))
    assert refused["input"] == "'" + text and fine["input"] == "thepiratebay.org"
    assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in refused.values())


# --- inputs: Tranco lists, CSV columns, shards, resume's input check ------------------------------

def test_a_tranco_list_and_a_csv_column_are_read_as_they_are(dns, tmp_path):
    tranco = tmp_path / "tranco.csv"
    tranco.write_text("1,thepiratebay.org\n2,plain-site.org\n", encoding="utf-8")
    out = tmp_path / "t.jsonl"
    assert run(str(tranco), "-o", str(out), "--offline", dns=dns).returncode == 0
    assert [(r["line"], r["query"]) for r in lines_of(out)] == [(1, "thepiratebay.org"), (2, "plain-site.org")]
    table = tmp_path / "table.csv"
    table.write_text("id,site,note\n7,thepiratebay.org,x\n8,\"plain-site.org\",\"a, b\"\n", encoding="utf-8")
    assert run(str(table), "-o", str(out), "--column", "site", "--offline", dns=dns).returncode == 0
    assert [(r["line"], r["query"]) for r in lines_of(out)] == [(2, "thepiratebay.org"), (3, "plain-site.org")]
    bad = run(str(table), "--column", "domain", "--offline", dns=dns)
    assert bad.returncode == 2 and b"no column 'domain'" in bad.stderr and b"Traceback" not in bad.stderr


def test_shards_keep_the_input_line_numbers_and_cover_it_once(dns, tmp_path):
    source = names(tmp_path, 25)
    seen = []
    for shard in ("1/3", "2/3", "3/3"):
        out = tmp_path / f"shard{shard[0]}.jsonl"
        done = run(str(source), "-o", str(out), "--shard", shard, "--offline", dns=dns)
        assert done.returncode == 0, done.stderr.decode()
        records = lines_of(out)
        assert all(r["query"] == f"name{r['line'] - 1}.batch-test.com" for r in records)
        seen += [r["line"] for r in records]
    assert sorted(seen) == list(range(1, 26))
    assert run(str(source), "--shard", "4/3", dns=dns).returncode == 2


def test_resume_refuses_an_output_written_from_another_input(dns, tmp_path):
    out = tmp_path / "out.jsonl"
    assert run(str(names(tmp_path, 5)), "-o", str(out), "--offline", dns=dns).returncode == 0
    before = out.read_bytes()
    other = tmp_path / "other.txt"
    other.write_text("a.com\nb.com\nc.com\nd.com\ne.com\nf.com\n", encoding="utf-8")
    done = run(str(other), "-o", str(out), "--resume", "--offline", dns=dns)
    assert done.returncode == 2 and b"written from another input" in done.stderr
    assert out.read_bytes() == before


# --- stopping: SIGTERM's summary, a full disk ---------------------------------------------------

def test_sigterm_writes_the_summary_and_whole_records(dns, tmp_path):
    dns.delay = 0.2
    source, out = names(tmp_path, 200), tmp_path / "out.jsonl"
    process = subprocess.Popen([CASEFLAG, "batch", str(source), "-o", str(out), "--concurrency", "5"],
                               env={**os.environ, "CASEFLAG_DNS_NAMESERVERS": dns.nameserver}, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 10):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr.decode()
    assert "stopped by SIGTERM" in stderr.decode() and "by level:" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    lines = [r["line"] for r in lines_of(out)]
    assert lines == list(range(1, len(lines) + 1))


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a small tmpfs needs root")
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".jsonl.gz"])
def test_a_full_disk_ends_with_one_error_line_exit_2_and_whole_records(dns, tmp_path, suffix):
    disk = tmp_path / "disk"
    disk.mkdir()
    size = "256k" if suffix.endswith(".gz") else "4m"  # room for a few chunks of whole records, not all
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], check=True)
    try:
        source = tmp_path / "in.txt"
        # An unlisted site's records: their size does not grow with the list (a listed site's full answer does)
        source.write_text("".join(f"plain-site.org/{n}\nwww.plain-site.org/{n}\n" for n in range(20000)), encoding="utf-8")
        out = disk / f"out{suffix}"
        done = run(str(source), "-o", str(out), "--offline", "--full", dns=dns)
        stderr = done.stderr.decode()
        assert done.returncode == 2, stderr
        assert stderr.strip().splitlines()[-1].startswith("caseflag: error: writing ") and "No space left" in stderr
        assert stderr.count("caseflag: error:") == 1 and "Traceback" not in stderr
        text = (gzip.decompress(out.read_bytes()) if suffix.endswith(".gz") else out.read_bytes()).decode()
        assert text.endswith("\n") and text.count("\n") > 20  # whole records, and not none
        if suffix == ".csv":
            rows = list(csv.reader(text.splitlines()))
            assert all(len(row) == len(rows[0]) for row in rows)
        else:
            assert [json.loads(line)["line"] for line in text.splitlines()] == list(range(1, text.count("\n") + 1))
    finally:
        subprocess.run(["umount", str(disk)], check=True)
