"""The data linter: passes the real data/, and flags each deliberately broken record with file and line."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from caseflag.data.lint import SCHEMA_FILES, Checker, inline_refs, lint, locate
from caseflag.data.records import RawRecord, read_all

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
    "sources/no-review-source.toml": ("'last_reviewed' is a required property", 1),
    "entities/no-german.toml": ("description has no German text", 6),
    "entities/de-unknown-field.toml": ("'name' was unexpected", 11),
    "cases/no-german-outcome.toml": ("outcome has no German text", 7),
    "cases/german-without-english.toml": ("de.outcome translates no English outcome", 12),
    "cases/undated-no-note.toml": ("no date and no note", 13),
}


def test_real_data_passes():
    """The bundled data/ has no problem at all."""
    problems = lint(ROOT / "data")
    assert problems == [], "\n".join(p.format() for p in problems)


def test_valid_fixture_passes():
    assert lint(FIXTURES / "valid") == []


def test_valid_fixture_uses_the_german_table_and_the_mentioned_role():
    """The valid fixture is the example of the new fields: if they went, the test above would prove less."""
    records = {r.stem: r.data for r in read_all(FIXTURES / "valid")}
    case = records["example-label-v-example-site"]
    assert set(case["de"]) == {"title", "summary", "outcome"}
    assert {"entity_id": "example-cdn", "role": "mentioned", "source_ids": ["example-news-2019-01-02"]} in case["parties"]
    assert all("description" in r["de"] for r in records.values() if "description" in r)
    assert all("last_reviewed" in r for r in records.values() if "publisher" in r)


def test_real_data_has_german_text_for_every_english_text():
    """Every entity description and case summary/outcome in data/ has its German text, and no
    German text is left identical to the English it stands for (a copy, not a translation)."""
    for record in read_all(ROOT / "data"):
        german = record.data.get("de", {})
        for key in {"entities": ("description",), "cases": ("summary", "outcome")}.get(record.kind, ()):
            if key in record.data:
                assert german.get(key) and german[key] != record.data[key], (record.path.name, key)


def test_missing_german_is_a_review_rule_the_loader_serves_with():
    """The linter refuses a record without German text, but a server still loads it (and answers
    in English there), as with the other review rules; a broken [de] table is a schema error."""
    problems = lint(FIXTURES / "broken")
    german = [p for p in problems if "German text" in p.message or "translates no English" in p.message]
    assert len(german) == 3 and not any(p.fatal for p in german)
    stray = [p for p in problems if p.path.name == "de-unknown-field.toml"]
    assert stray and all(p.fatal for p in stray)


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
    checker.check_domains(records)
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


def _schema_variants(record: RawRecord, bad_values: list) -> list:
    """The record and copies of it with one field (or one field of a nested item) replaced or removed."""
    variants = [record.data] + [{**record.data, key: bad} for key in record.data for bad in bad_values]
    variants += [{k: v for k, v in record.data.items() if k != key} for key in record.data]
    variants += [{**record.data, "unknown_field": "x"}]
    for nested in ("aliases", "parties", "dates", "ranges_source"):
        value = record.data.get(nested)
        items = value[:1] if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for item in items:
            for key in item:
                for bad in bad_values:
                    changed = {**item, key: bad}
                    variants.append({**record.data, nested: [changed] if isinstance(value, list) else changed})
            variants.append({**record.data, nested: [{}] if isinstance(value, list) else {}})
    return variants


def test_the_fast_schema_gate_passes_nothing_jsonschema_refuses():
    """fastjsonschema only lets a record skip jsonschema: whatever it accepts, jsonschema accepts
    too, over every record of the fixtures and data/ and each with one field broken in many ways
    (types Python mixes up included: bool and int, int and float)."""
    from caseflag.data.lint_schema import fast_validators as _fast_validators

    fast = _fast_validators(str(ROOT / "data" / "schema"))
    bad_values = [3, 0, 1, -1, 1.0, 2.5, 2**70, True, False, None, "", " ", "Not Valid!", "a\n", "x" * 3000,
                  "2024-13-01", "2024-01-01\n", "https://", "ftp://x", "http://exa mple.com", "AS13335", "ab-CD",
                  [], [3], [True], [1, True], ["x", "x"], ["b", "a"], [None], [[]], [{}], {"x": 1}, {}]
    accepted = checked = 0
    for folder in (FIXTURES / "valid", FIXTURES / "broken", ROOT / "data"):
        for record in read_all(folder):
            if record.data is None:
                continue
            reference = Draft202012Validator(inline_refs(json.loads(
                (ROOT / "data" / "schema" / SCHEMA_FILES[record.kind]).read_text())))
            for variant in _schema_variants(record, bad_values):
                try:
                    fast[record.kind](variant)
                except Exception:  # noqa: BLE001 - refused: jsonschema decides, nothing to hold
                    continue
                accepted += 1
                assert _errors(reference, variant) == [], (record.path, variant)
            checked += 1
    assert checked > 100 and accepted > checked  # the gate lets the good records through


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_the_fast_schema_gate_agrees_on_generated_values(kind):
    """The same property for values Hypothesis makes up, put in each field of a real record."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from caseflag.data.lint_schema import fast_validators as _fast_validators

    fast = _fast_validators(str(ROOT / "data" / "schema"))[kind]
    reference = Draft202012Validator(inline_refs(json.loads((ROOT / "data" / "schema" / SCHEMA_FILES[kind]).read_text())))
    base = next(record.data for record in read_all(ROOT / "data") if record.kind == kind)
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30) \
        | st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True) | st.sampled_from(["2024-01-02", "2024-01", "US", "en"])
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.sampled_from(sorted(base)) | st.text(max_size=5), inner, max_size=4),
                          max_leaves=8)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(key=st.sampled_from(sorted(base)), value=values)
    def check(key, value):
        variant = {**base, key: value}
        try:
            fast(variant)
        except Exception:  # noqa: BLE001
            return
        assert _errors(reference, variant) == []

    check()


def test_plain_labels_in_bulk_decides_as_the_per_name_pattern():
    """Checker._all_plain_registrable decides a list in bulk (plain_labels, then the suffix
    list) exactly as the per-name pattern and the suffix list did, for generated lists of names
    full of the characters and label shapes the rules are about."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from caseflag.core.domains import default_suffix_list
    from caseflag.data.lint_names import _PLAIN_NAME, plain_labels

    suffixes = default_suffix_list()
    label = st.text(alphabet="ab09_-.\nAé ", min_size=0, max_size=8) | st.sampled_from(
        ["a", "-a", "a-", "_", "x" * 63, "x" * 64, "123", "xn--p1ai", "www"])
    tail = st.sampled_from(["com", "co.uk", "ck", "12", "c_m", "blogspot.com", "", "-com", "com-", "kobe.jp"])
    name = st.builds(lambda labels, end: ".".join([*labels, end]) if end else ".".join(labels),
                     st.lists(label, min_size=0, max_size=4), tail) | st.text(max_size=12)

    @settings(max_examples=3000, deadline=None)
    @given(st.lists(name, max_size=6))
    def check(domains):
        per_name = all(map(_PLAIN_NAME.fullmatch, domains)) and suffixes.all_registrable(domains)
        assert (plain_labels(domains) and suffixes.all_registrable(domains)) == per_name

    check()
    assert plain_labels([f"site{n}.co.uk" for n in range(100)])
    assert not plain_labels(["a.com", "b..com"]) and not plain_labels(["a.com\nb.com"]) and not plain_labels([3])


def test_onion_domains_are_accepted_on_entities():
    """An entity may list its onion address (RFC 7686): matched, never resolved; the lint accepts it,
    in the bulk path and name by name (a subdomain of one is still not registrable)."""
    onion = "piratebayo3klnzokct3wt5yyxb2vpebbuyjl7m623iaxmqhsd52coid.onion"
    records = [_entity("bulk", ["site.com", onion]), _entity("walked", ["other.com", "www." + onion, "x.onion"])]
    checker = Checker(records, ROOT / "data" / "schema")
    checker.check_domains(records)
    found = sorted((p.path.stem, p.line, p.message.split(" (")[0]) for p in checker.problems)
    assert found == [("walked", 4, f"'www.{onion}' is not a registrable domain")]


@pytest.mark.parametrize("broken", ["not a schema to its metaschema", "not JSON"])
def test_a_broken_schema_file_is_a_clear_error_for_the_linter_and_the_load(tmp_path, broken):
    """The linter checks the schemas against their metaschema; a load only compiles them. Either
    way a broken schema file is a message naming it, never a traceback."""
    import shutil

    from caseflag.data.dataset import Dataset
    from caseflag.core.errors import CaseflagError

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    schema = data / "schema" / SCHEMA_FILES["sources"]
    if broken == "not JSON":
        schema.write_text("{ not json", encoding="utf-8")
    else:
        schema.write_text(json.dumps({"type": "object", "properties": {"id": {"type": 12}}}), encoding="utf-8")
    done = subprocess.run([CASEFLAG, "data", "lint", str(data)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "cannot read the JSON schemas" in done.stderr + done.stdout
    if broken == "not a schema to its metaschema":
        assert SCHEMA_FILES["sources"] in done.stderr + done.stdout
    with pytest.raises(CaseflagError, match="JSON schemas"):
        Dataset.load(data)


def test_loading_the_bundled_list_never_imports_jsonschema():
    """Every bundled record passes fastjsonschema's gate, so a start (the API's, every batch's)
    skips importing jsonschema, the reference only a refused record needs."""
    code = ("import sys; from caseflag.core import config; from caseflag.data.dataset import Dataset; "
            "Dataset.load(config.DEFAULT_DATA_DIR); print('jsonschema' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


# --- the bulk fast paths against the per-entity and per-item paths they stand for ---------------

class _PerName(Checker):
    """The domain check with no list decided at once: every name parsed and reported alone."""

    def _plain_lists(self, lists):
        return [False] * len(lists)


def _domain_outcome(checker_class, records):
    checker = checker_class(records, ROOT / "data" / "schema")
    checker.check_domains(records)
    problems = sorted((str(p.path), p.line, p.message, p.fix, p.fatal) for p in checker.problems)
    # the index is only meaningful without fatal problems (a name claimed twice has one owner in
    # it, whichever came last); the order of its names is not part of it
    fatal = any(problem[-1] for problem in problems)
    return problems, None if fatal else sorted(checker.domain_index.items(), key=lambda item: item[0])


# Names that break one rule each, next to names that pass: each must be reported by the same
# message and line whether its list is decided in bulk or not.
_ODD_NAMES = ["Upper.com", "trailing.com.", "xn--bcher-kva.de", "xn--p1ai", "www.clean0.com", "co.uk", "com",
              "www.ck", "foo.ck", "me.blogspot.com", "blogspot.com", "a..com", "-a.com", "a-.com", "a_b.com",
              "1.2.3.4", "x" * 64 + ".com", "long-" * 12 + "name.co.uk", "a.123", "a--b.com", 3, None,
              "clean1.com", "ünï.de", "sp ace.com", "a.com\nb.com", "", "x.onion"]


@pytest.mark.parametrize("run_names", [4_096, 40, 1])
@pytest.mark.parametrize("odd", _ODD_NAMES, ids=repr)
def test_bulk_domain_check_reports_as_the_per_name_check(odd, run_names, monkeypatch):
    """One odd name among clean entities: the same problems, lines and index as name by name,
    with every list in one run, a few runs, or a run per list."""
    import caseflag.data.lint_names as lint_names

    monkeypatch.setattr(lint_names, "BULK_NAMES", run_names)
    records = [_entity(f"e{n}", sorted(f"clean{n}-{i}.co.uk" for i in range(30))) for n in range(5)]
    records.append(_entity("odd", ["clean0.com", odd, "zz.org"]))
    records.append(_entity("other", ["clean1.com"]))  # "clean1.com" is also odd's when odd is that
    assert _domain_outcome(Checker, records) == _domain_outcome(_PerName, records)


def test_bulk_domain_check_agrees_on_generated_datasets():
    """Generated datasets of clean and mutated names (case, dots, punycode, subdomains, public
    suffixes, names claimed twice, non-strings): the same problems and index both ways."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    clean = st.builds(lambda n, tld: f"site{n}.{tld}", st.integers(0, 30),
                      st.sampled_from(["com", "co.uk", "de", "blogspot.com", "kobe.jp", "onion"]))
    mutated = st.one_of(clean.map(str.upper), clean.map(lambda d: d + "."), clean.map(lambda d: "www." + d),
                        clean.map(lambda d: "xn--" + d), clean.map(lambda d: d.partition(".")[2]),
                        st.sampled_from(_ODD_NAMES))
    lists = st.lists(st.lists(st.one_of(clean, clean, clean, mutated), max_size=6), min_size=1, max_size=5)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(lists, st.sampled_from([4_096, 5, 1]))
    def check(domain_lists, run_names):
        import caseflag.data.lint_names as lint_names

        records = [_entity(f"e{n}", domains) for n, domains in enumerate(domain_lists)]
        lint_names.BULK_NAMES, default = run_names, lint_names.BULK_NAMES
        try:
            assert _domain_outcome(Checker, records) == _domain_outcome(_PerName, records)
        finally:
            lint_names.BULK_NAMES = default

    check()


def test_runs_cover_every_list_in_order():
    from caseflag.data.lint_names import runs

    lists = [["a"] * size for size in (3, 0, 1, 9, 2, 2, 0, 4)]
    cut = runs(lists, 4)
    assert [domains for run in cut for domains in run] == lists
    assert [sum(map(len, run)) for run in cut] == [4, 9, 4, 4]
    assert runs([], 4) == [] and runs([[]], 4) == [[[]]]


def _sorted_problems(record, full_only):
    import caseflag.data.lint_records as lint_module

    checker = Checker([record], ROOT / "data" / "schema")
    original = lint_module._plainly_sorted
    if full_only:
        lint_module._plainly_sorted = lambda items: False
    try:
        checker._check_sorted(record)
    finally:
        lint_module._plainly_sorted = original
    return [(p.line, p.message, p.fix, p.fatal) for p in checker.problems]


def test_the_sorted_check_fast_path_reports_as_the_full_check():
    """Lists of strings (in order, out of order, repeated), numbers, mixed items and tables:
    the same problems with the fast path as with sorted() and set() alone."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    item = st.one_of(st.sampled_from(["a", "b", "b", "c", "A", "", "a.com"]), st.text(max_size=3),
                     st.integers(-2, 2), st.booleans(), st.floats(allow_nan=True), st.just({"x": 1}), st.just([1]))
    items = st.one_of(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=5),
                      st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=5, unique=True).map(sorted),
                      st.lists(item, max_size=5))  # the schema lets only lists through

    @settings(max_examples=1000, deadline=None)
    @given(items, st.sampled_from(["source_ids", "domains"]))
    def check(value, key):
        record = RawRecord("entities", Path("/data/entities/x.toml"), f'id = "x"\n{key} = []\n',
                           {"id": "x", "source_ids": ["s"], "domains": [], key: value})
        assert _sorted_problems(record, False) == _sorted_problems(record, True)

    check()


def _old_normalise(value):
    """records.normalise before lists were returned as they are: the reference."""
    import datetime as dt

    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _old_normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_old_normalise(item) for item in value]
    return value


def test_normalise_equals_the_plain_recursive_version():
    """Nested tables and arrays with dates, datetimes (with and without offset) and times."""
    import datetime as dt

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from caseflag.data.records import normalise

    scalars = st.one_of(st.text(max_size=4), st.integers(), st.floats(allow_nan=False), st.booleans(),
                        st.dates(), st.times(), st.datetimes(),
                        st.datetimes(timezones=st.just(dt.timezone(dt.timedelta(hours=2)))))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=3), inner, max_size=4), max_leaves=12)

    @settings(max_examples=1000, deadline=None)
    @given(values)
    def check(value):
        result = normalise(value)
        assert result == _old_normalise(value)
        assert type(result) is type(_old_normalise(value))
        assert not any(isinstance(leaf, (dt.date, dt.time)) for leaf in _leaves(result))

    check()
    domains = ["a.com", "b.com"]
    assert normalise({"domains": domains, "day": dt.date(2026, 1, 2)}) == {"domains": domains, "day": "2026-01-02"}


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value
