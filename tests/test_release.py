"""`caseflag data release` run as a real subprocess: the files, checksums, identical bytes, the
SQLite file's answers, the changelog against a previous release, and refusals that lose nothing."""

import json
import re
import shutil
import sqlite3
import subprocess

import pytest

from caseflag.data.dataset import Dataset
from caseflag.exports.export import EXPORT_FORMATS
from caseflag.exports.release import release_date
from conftest import DATA_DIR
from test_cli import run
from test_dataset import NEW_ENTITY, NEW_SOURCE

SIX = ["CHANGES.md", "SHA256SUMS", "caseflag.csv", "caseflag.json", "caseflag.jsonl", "caseflag.sqlite",
       # issue 22: a release says what it is, what its columns mean, its licence, and how Datasette shows it
       "README.md", "DATA_DICTIONARY.md", "LICENSE", "metadata.json"]


def release(out, *args):
    result = run("data", "release", "-o", str(out), *args)
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """One release of the bundled data, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("release") / "r1"
    result = release(out)
    assert result.returncode == 0, result.stderr
    return out


def test_release_has_the_files_and_its_checksums_verify(bundled, tmp_path):
    names = sorted(path.name for path in bundled.iterdir())
    assert names == sorted(SIX + (["index.json"] if "extension" in EXPORT_FORMATS else []))
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=bundled, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == len(names) - 1
    copy = tmp_path / "copy"
    shutil.copytree(bundled, copy)
    (copy / "caseflag.csv").write_bytes(b"tampered\n")
    tampered = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=copy, capture_output=True, text=True)
    assert tampered.returncode == 1 and "caseflag.csv: FAILED" in tampered.stdout


def test_exports_are_what_data_export_writes(bundled, tmp_path):
    for fmt in ("json", "jsonl", "csv"):
        out = tmp_path / f"export.{fmt}"
        assert run("data", "export", "--format", fmt, "-o", str(out)).returncode == 0
        assert out.read_bytes() == (bundled / f"caseflag.{fmt}").read_bytes(), fmt


def test_two_runs_give_identical_bytes(bundled, tmp_path):
    again = tmp_path / "r2"
    assert release(again).returncode == 0
    for path in bundled.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.skipif("extension" not in EXPORT_FORMATS,
                    reason="index.json needs `data export --format extension` (export.EXPORT_FORMATS['extension'])")
def test_release_carries_the_extension_index(bundled, tmp_path):
    out = tmp_path / "index.json"
    assert run("data", "export", "--format", "extension", "-o", str(out)).returncode == 0
    assert (bundled / "index.json").read_bytes() == out.read_bytes()
    assert "index.json" in (bundled / "SHA256SUMS").read_text()


def test_sqlite_answers_who_owns_a_domain_and_its_cases(bundled):
    db = sqlite3.connect(f"file:{bundled / 'caseflag.sqlite'}?mode=ro", uri=True)
    owner = db.execute("SELECT e.id, e.name, d.relation FROM domains d JOIN entities e ON e.id = d.entity_id "
                       "WHERE d.domain = 'mega.co.nz'").fetchall()
    assert owner == [("mega", "MEGA", "former")]
    ties = db.execute("SELECT case_id, role, via, party_id FROM domain_cases WHERE domain = 'mega.nz'").fetchall()
    # mega.nz is tied to the Dotcom case through its predecessor; later orders may name MEGA itself
    assert ("united-states-v-dotcom", "defendant", "predecessor", "megaupload") in ties
    own = db.execute("SELECT DISTINCT case_id FROM domain_cases WHERE domain = 'thepiratebay.org' AND via = 'own' "
                     "ORDER BY case_id").fetchall()
    # the Pirate Bay's own cases include the trial and the bridal case; blocking orders add more
    assert {("bridal-makers-v-cloudflare",), ("pirate-bay-trial-sweden",)} <= set(own)
    found = db.execute("SELECT kind, id FROM search WHERE search MATCH 'extradition'").fetchall()
    assert ("case", "united-states-v-dotcom") in found
    meta = dict(db.execute("SELECT key, value FROM meta"))
    version = json.loads((bundled / "caseflag.json").read_text())["dataset_version"]
    # The release is dated by the newest full date in the records (release.release_date).
    assert meta["dataset_version"] == version and meta["release_date"] == release_date(Dataset.load(DATA_DIR))
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    counts = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
              for table in ("entities", "cases", "sources", "providers", "domains", "parties", "case_sources")}
    assert (counts["entities"], counts["cases"], counts["domains"]) == bundled_counts()
    assert counts["parties"] > 0 and counts["case_sources"] > 0
    db.close()


def bundled_counts() -> tuple[int, int, int]:
    """Entities, cases and listed domains (main and aliases) in data/, counted from the files."""
    import tomli
    entities = [tomli.loads(path.read_text(encoding="utf-8")) for path in (DATA_DIR / "entities").glob("*.toml")]
    domains = sum(len(e.get("domains", [])) + len(e.get("aliases", [])) for e in entities)
    return len(entities), len(list((DATA_DIR / "cases").glob("*.toml"))), domains


def test_first_release_lists_everything_as_new(bundled):
    text = (bundled / "CHANGES.md").read_text()
    assert "First release: every record is new." in text
    entities, cases, _ = bundled_counts()
    assert f"| entities | {entities} | 0 | 0 |" in text and f"| cases | {cases} | 0 | 0 |" in text
    assert "- `mega.co.nz` (former, of `mega`)" in text


def test_changelog_against_a_previous_release(bundled, tmp_path):
    """Add an entity and source, remove an entity (and its party role), change a description and a
    domain's relation: CHANGES.md names each record and the fields that changed."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    (data / "sources" / "example-news-2020-02-03-streamsite-sued.toml").write_text(NEW_SOURCE, encoding="utf-8")
    (data / "entities" / "streamsite.toml").write_text(NEW_ENTITY, encoding="utf-8")
    (data / "entities" / "ustr.toml").unlink()
    case = data / "cases" / "us-trade-pressure-allofmp3.toml"
    text = case.read_text(encoding="utf-8")
    start = text.index('[[parties]]\nentity_id = "ustr"')
    case.write_text(text[:start].rstrip() + "\n", encoding="utf-8")
    mega = data / "entities" / "mega.toml"
    text = mega.read_text(encoding="utf-8").replace("Encrypted cloud-storage service", "Encrypted cloud storage")
    mega.write_text(text.replace('domain = "mega.co.nz"\nrelation = "former"', 'domain = "mega.co.nz"\nrelation = "redirect"'),
                    encoding="utf-8")

    out = tmp_path / "r2"
    result = release(out, "--path", str(data), "--previous", str(bundled))
    assert result.returncode == 0, result.stderr
    changes = (out / "CHANGES.md").read_text()
    old_version = json.loads((bundled / "caseflag.json").read_text())["dataset_version"]
    assert f"Changes since the previous release (dataset version `{old_version}`)." in changes
    assert "| entities | 1 | 1 | 1 |" in changes
    assert "| domains | 1 | 0 | 1 |" in changes
    assert "| cases | 0 | 0 | 1 |" in changes
    assert "| sources | 1 | 0 | 0 |" in changes and "| providers | 0 | 0 | 0 |" in changes
    assert "Added:\n\n- `streamsite` — Streamsite\n" in changes
    assert "Removed:\n\n- `ustr` — Office of the United States Trade Representative (USTR)\n" in changes
    assert "- `mega` — MEGA: `aliases`, `description`\n" in changes
    assert "- `streamsite-example.com` (primary, of `streamsite`)" in changes
    assert "- `mega.co.nz` (redirect, of `mega`): `relation` (`former` → `redirect`)\n" in changes
    assert ("- `us-trade-pressure-allofmp3` — US trade pressure on Russia over Allofmp3.com: `parties` (`ustr` (`named`) removed)\n") in changes
    assert "- `example-news-2020-02-03-streamsite-sued` — Labels sue a streaming site\n" in changes

    same = tmp_path / "r3"
    assert release(same, "--path", str(data), "--previous", str(out)).returncode == 0
    assert "No record changed." in (same / "CHANGES.md").read_text()


def test_date_comes_from_the_data_or_from_date(tmp_path):
    out = tmp_path / "dated"
    assert release(out, "--date", "2027-01-02").returncode == 0
    assert (out / "CHANGES.md").read_text().startswith("# caseflag data release 2027-01-02\n")
    bad = release(tmp_path / "bad", "--date", "2026-02-30")
    assert bad.returncode == 2 and "caseflag: error: --date '2026-02-30' is not a date" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_refusals_are_messages_and_lose_nothing(bundled, tmp_path):
    """An unrelated non-empty folder, a file, the previous release itself, a broken or tampered
    previous: each is a one-line error, and nothing is written or removed."""
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "chapter1.tex").write_text("precious")
    result = release(other)
    assert result.returncode == 2
    assert "caseflag: error: -o" in result.stderr and "chapter1.tex" in result.stderr
    assert [p.name for p in other.iterdir()] == ["chapter1.tex"]
    assert (other / "chapter1.tex").read_text() == "precious"

    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "is a file, not a folder" in release(afile).stderr

    before = {p.name: p.read_bytes() for p in bundled.iterdir()}
    same = release(bundled, "--previous", str(bundled))
    assert same.returncode == 2 and "is the --previous release" in same.stderr
    assert {p.name: p.read_bytes() for p in bundled.iterdir()} == before

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "caseflag.json").write_text('{"dataset_version": "x",\n "entities": [\n')
    result = release(tmp_path / "out", "--previous", str(broken))
    assert result.returncode == 2 and f"{broken / 'caseflag.json'}:3: not valid JSON" in result.stderr
    assert not (tmp_path / "out").exists()

    (broken / "caseflag.json").write_text('{"dataset_version": "x"}')
    assert "not a caseflag export" in release(tmp_path / "out", "--previous", str(broken)).stderr

    tampered = tmp_path / "tampered"
    shutil.copytree(bundled, tampered)
    (tampered / "caseflag.json").write_text((bundled / "caseflag.json").read_text().replace("MEGA", "MEGA2"))
    result = release(tmp_path / "out", "--previous", str(tampered))
    assert result.returncode == 2 and "does not match" in result.stderr
    assert "not a caseflag release" in release(tmp_path / "out", "--previous", str(other)).stderr
    assert "no such folder" in release(tmp_path / "out", "--previous", str(tmp_path / "nowhere")).stderr

    # an earlier release in the output folder is replaced, file by file
    again = tmp_path / "again"
    shutil.copytree(bundled, again)
    (again / "CHANGES.md").write_text("old")
    assert release(again).returncode == 0
    assert (again / "CHANGES.md").read_bytes() == (bundled / "CHANGES.md").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder is left behind"


def test_the_readme_queries_show_their_real_output(bundled):
    """Each `sqlite3 -header caseflag.sqlite "…"` example in the README prints what it shows."""
    readme = (DATA_DIR.parent / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r'```sh\nsqlite3 -header caseflag\.sqlite "(.+?)"\n```\n\n```text\n(.*?)```', readme, re.S)
    assert len(examples) == 3
    db = sqlite3.connect(f"file:{bundled / 'caseflag.sqlite'}?mode=ro", uri=True)
    for query, shown in examples:
        cursor = db.execute(query)
        lines = ["|".join(col[0] for col in cursor.description)]
        lines += ["|".join("" if value is None else str(value) for value in row) for row in cursor]
        assert "\n".join(lines) + "\n" == shown, query
    db.close()


def test_changelog_names_role_changes_german_text_dates_and_reviews():
    """A corrected party role, German text added, a date removed and a record only reviewed: CHANGES.md
    says each in words, so a reader sees what was corrected without diffing the records."""
    from caseflag.exports.changelog import diff, render

    case = {"id": "c", "title": "C", "summary": "S", "dates": {"filed": "2018", "reported": "2020-09-05"},
            "parties": [{"entity_id": "tpb", "role": "named", "source_ids": ["s"]},
                        {"entity_id": "cf", "role": "defendant", "source_ids": ["s"]}]}
    fixed = {**case, "de": {"summary": "Z"}, "dates": {"filed": "2018"},
             "parties": [{"entity_id": "tpb", "role": "mentioned", "source_ids": ["s"]},
                         {"entity_id": "cf", "role": "defendant", "source_ids": ["s", "t"]},
                         {"entity_id": "site", "role": "subject", "source_ids": ["t"]}]}
    source = {"id": "s", "title": "T", "publisher": "P"}
    old = {"entities": {}, "cases": {"c": case}, "sources": {"s": source}, "providers": {}}
    new = {"entities": {}, "cases": {"c": fixed}, "sources": {"s": {**source, "last_reviewed": "2026-12-07"}},
           "providers": {}}
    text = render(diff(old, new), version="v2", date="2026-12-07", old=old, new=new, previous_version="v1")
    assert ("- `c` — C: `dates` (`reported` (`2020-09-05` → none)), `de` (German text added), `parties` "
            "(`cf`: sources; `site` added as `subject`; `tpb`: `named` → `mentioned`)\n") in text
    assert "Only `last_reviewed` changed (1): `s`.\n" in text
    assert "Why a record was corrected is said in its `note`" in text


def test_datasette_loads_the_release_with_its_metadata_and_search(bundled):
    """The real Datasette serves caseflag.sqlite with metadata.json over HTTP on loopback: the licence
    and descriptions show, and ?_search= finds rows on entities and cases (not every row)."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    datasette = Path(sys.executable).with_name("datasette")
    server = subprocess.Popen([str(datasette), "serve", str(bundled / "caseflag.sqlite"), "--metadata",
                               str(bundled / "metadata.json"), "--port", str(port), "--host", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def get(path: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get("/-/metadata.json")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "datasette did not start"
                time.sleep(0.2)
        metadata = get("/-/metadata.json")
        assert metadata["license"] == "CC BY 4.0" and "caseflag dataset" in metadata["title"]
        everything = get("/caseflag/entities.json?_shape=array&_size=max")
        found = get("/caseflag/entities.json?_search=dotcom&_shape=array")
        assert 0 < len(found) < len(everything) and "kim-dotcom" in {row["id"] for row in found}
        cases = get("/caseflag/cases.json?_search=extradition&_shape=array")
        all_cases = get("/caseflag/cases.json?_shape=array&_size=max")
        assert 0 < len(cases) < len(all_cases) and "united-states-v-dotcom" in {row["id"] for row in cases}
    finally:
        server.terminate()
        server.communicate(timeout=10)
