"""The data linter: passes the real data/, and flags each deliberately broken record with file and line."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from caseflag.lint import SCHEMA_FILES, Checker, inline_refs, lint, locate
from caseflag.records import RawRecord, read_all

FIXTURES = Path(__file__).parent / "fixtures" / "lint"
ROOT = Path(__file__).resolve().parent.parent
CASEFLAG = str(Path(sys.executable).with_name("caseflag"))

# file -> (a word the message must contain, the line the problem is on)
BROKEN = {
    "entities/bad-syntax.toml": ("TOML", 2),
    "entities/unknown-field.toml": ("homepage", 7),
    "entities/id-mismatch.toml": ("does not match the file name", 1),
    "entities/domain-twice.toml": ("also claimed by example-site.toml", 4),
    "entities/not-registrable.toml": ("not a registrable domain", 4),
    "entities/domain-not-text.toml": ("must be given as a string", 4),
    "entities/alias-unsourced.toml": ("source_ids", 12),
    "entities/unsorted-domains.toml": ("not sorted", 4),
    "entities/no-review.toml": ("last_reviewed", 1),
    "cases/unknown-party.toml": ("unknown entity 'nobody-at-all'", 14),
    "cases/party-unsourced.toml": ("source_ids", 16),
    "cases/bad-role.toml": ("villain", 15),
    "sources/ftp-url.toml": ("not an http(s) address", 2),
    "sources/bad-date.toml": ("not a valid date", 6),
    "sources/future-date.toml": ("in the future", 6),
    "sources/no-url-no-note.toml": ("note", 1),
}


def test_real_data_passes():
    """The bundled data/ has no problem at all."""
    problems = lint(ROOT / "data")
    assert problems == [], "\n".join(p.format() for p in problems)


def test_valid_fixture_passes():
    assert lint(FIXTURES / "valid") == []


@pytest.fixture(scope="module")
def broken_problems():
    return lint(FIXTURES / "broken")


@pytest.mark.parametrize("relative", sorted(BROKEN))
def test_each_broken_record_is_flagged_with_its_line(broken_problems, relative):
    word, line = BROKEN[relative]
    mine = [p for p in broken_problems if p.path.as_posix().endswith(relative)]
    assert mine, f"no problem reported for {relative}"
    assert any(word in p.message and p.line == line for p in mine), [p.format() for p in mine]
    assert all(p.fix for p in mine)


def test_valid_records_next_to_broken_ones_are_not_blamed(broken_problems):
    # a domain claimed twice is reported on both claimants, so the earlier owner is told too
    blamed = {p.path.name for p in broken_problems if "also claimed by domain-twice.toml" not in p.message}
    assert not blamed & {"example-site.toml", "example-label.toml", "court-record-2019.toml",
                         "example-label-v-example-site.toml", "example-cdn.toml"}


def test_cli_prints_path_line_message_and_fix_and_exits_1():
    result = subprocess.run([CASEFLAG, "data", "lint", str(FIXTURES / "broken")], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) >= len(BROKEN)
    for line in lines:
        assert re.match(r"^tests/fixtures/lint/broken/\w+/[\w-]+\.toml:\d+: .+ — .+$", line), line


def test_cli_passes_real_data():
    result = subprocess.run([CASEFLAG, "data", "lint"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env={k: v for k, v in os.environ.items() if k != "CASEFLAG_DATA_DIR"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_cli_on_a_missing_folder_is_a_clear_error(tmp_path):
    result = subprocess.run([CASEFLAG, "data", "lint", str(tmp_path / "nope")], capture_output=True, text=True)
    assert result.returncode == 2 and "not a folder" in result.stderr


def test_locate_follows_table_arrays():
    text = 'id = "x"\n[[parties]]\nrole = "a"\n[[parties]]\nrole = "b"\n'
    assert locate(text, ("parties", 1, "role")) == 5
    assert locate(text, ("id",)) == 1


def _entity(name: str, domains: list, aliases: tuple = ()) -> RawRecord:
    text = f'id = "{name}"\ndomains = [\n' + "".join(f'    "{d}",\n' for d in domains) + "]\n"
    text += "".join(f'[[aliases]]\ndomain = "{a}"\n' for a in aliases)
    data = {"id": name, "domains": domains, "aliases": [{"domain": a} for a in aliases]}
    return RawRecord("entities", Path(f"/data/entities/{name}.toml"), text, data)


def test_domain_claims_and_registrability_in_and_out_of_the_bulk_path():
    """Clean lists are decided in bulk; any list with a problem is walked name by name, same messages."""
    records = [_entity("clean", [f"site{n}.co.uk" for n in range(50)] + ["me.blogspot.com", "www.ck"]),
               _entity("twice", ["a.com", "b.com", "a.com"]),
               _entity("shared", ["b.com", "c.de"], aliases=["site7.co.uk"]),
               _entity("wrong", ["x.com", "www.y.com", "co.uk", "foo.ck", "Upper.com", 3], aliases=["x.com"])]
    checker = Checker(records, ROOT / "data" / "schema")
    checker._check_domains(records)
    found = sorted((p.path.stem, p.line, p.message.split(":")[0]) for p in checker.problems)
    assert found == [
        ("clean", 10, "'site7.co.uk' is also claimed by shared.toml"),
        ("shared", 3, "'b.com' is also claimed by twice.toml"),
        ("shared", 7, "'site7.co.uk' is also claimed by clean.toml"),
        ("twice", 3, "'a.com' is listed twice in this entity"),
        ("twice", 4, "'b.com' is also claimed by shared.toml"),
        ("wrong", 3, "'x.com' is listed twice in this entity"),
        ("wrong", 4, "'www.y.com' is not a registrable domain (its registrable domain is 'y.com')"),
        ("wrong", 5, "'co.uk' is not a public domain"),
        ("wrong", 6, "'foo.ck' is not a public domain"),
        ("wrong", 7, "'Upper.com' is not a registrable domain (its registrable domain is 'upper.com')"),
        ("wrong", 8, "3 is not a public domain"),
    ]


def _errors(validator, instance) -> list:
    return sorted((e.message, list(e.absolute_path), e.validator, repr(e.validator_value))
                  for e in validator.iter_errors(instance))


def test_inlined_schemas_report_the_same_errors():
    """Every record of the fixtures and data/, and each with one field broken in several ways,
    gets the same errors from the schema with its $refs inlined as from the schema itself."""
    bad_values = [3, "", "Not Valid!", [], [3], ["x", "x"], {"x": 1}, "2024-13-01", True]
    checked = 0
    for folder in (FIXTURES / "valid", FIXTURES / "broken", ROOT / "data"):
        for record in read_all(folder):
            if record.data is None:
                continue
            schema = json.loads((ROOT / "data" / "schema" / SCHEMA_FILES[record.kind]).read_text())
            plain, inlined = Draft202012Validator(schema), Draft202012Validator(inline_refs(schema))
            variants = [record.data] + [{**record.data, key: bad} for key in record.data for bad in bad_values]
            variants += [{k: v for k, v in record.data.items() if k != key} for key in record.data]
            for nested in ("aliases", "parties"):
                for item in record.data.get(nested, [])[:1]:
                    variants += [{**record.data, nested: [{**item, key: bad}]} for key in item for bad in bad_values]
            for variant in variants:
                assert _errors(plain, variant) == _errors(inlined, variant)
                checked += 1
    assert checked > 5_000


def test_onion_domains_are_accepted_on_entities():
    """An entity may list its onion address (RFC 7686): matched, never resolved; the lint accepts it,
    in the bulk path and name by name (a subdomain of one is still not registrable)."""
    onion = "piratebayo3klnzokct3wt5yyxb2vpebbuyjl7m623iaxmqhsd52coid.onion"
    records = [_entity("bulk", ["site.com", onion]), _entity("walked", ["other.com", "www." + onion, "x.onion"])]
    checker = Checker(records, ROOT / "data" / "schema")
    checker._check_domains(records)
    found = sorted((p.path.stem, p.line, p.message.split(" (")[0]) for p in checker.problems)
    assert found == [("walked", 4, f"'www.{onion}' is not a registrable domain")]
