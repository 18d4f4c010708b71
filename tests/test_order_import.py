"""caseflag data import-order: a schedule of sites and an order become linted records, or nothing is written."""

import datetime as dt
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from caseflag.data.lint import lint
from caseflag.data.order_import import ImportRefused, import_order
from caseflag.data.toml_writer import dumps

ROOT = Path(__file__).resolve().parent.parent
CASEFLAG = str(Path(sys.executable).with_name("caseflag"))
TODAY = dt.date(2026, 12, 7)

ORDER = '''
[case]
id = "test-order-2020"
title = "Test Films v Test Provider"
type = "court_order"
jurisdiction = "GB"
court = "High Court"
docket = "HC20X00001"
status = "judgment"
summary = "Film studios asked the court to make a provider block two streaming sites."
outcome = "The court made the order."
[case.de]
summary = "Filmstudios beantragten, dass ein Anbieter zwei Streaming-Seiten sperrt."
outcome = "Das Gericht erließ die Anordnung."
[case.dates]
decided = 2020-05-01

[[case.parties]]
entity_id = "test-studio"
role = "plaintiff"
source_ids = ["test-court-2020-05-01-order"]

[sites]
source_ids = ["test-court-2020-05-01-order"]
description = "Streaming site named in the test order, {name}."
[sites.de]
description = "Streaming-Seite aus der Testanordnung, {name}."

[[sources]]
id = "test-court-2020-05-01-order"
url = "https://court.example/orders/1"
publisher = "Test Court"
title = "Test Films v Test Provider"
language = "en"
published = 2020-05-01
kind = "court_record"

[[entities]]
id = "test-studio"
name = "Test Studio"
kind = "company"
domains = []
status = "unknown"
description = "Film studio that applied for the test order."
[entities.de]
description = "Filmstudio, das die Testanordnung beantragte."
'''

SCHEDULE = """name,domains,description_de
Stream One,streamone-test.com streamone-test.net,
Stream Two,streamtwo-test.net;streamtwo-test.org,Eigene deutsche Beschreibung von Stream Two.
"""


@pytest.fixture
def data(tmp_path):
    """A scratch copy of the real data/ folder."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target, ignore=shutil.ignore_patterns("orders"))
    return target


def write_order(tmp_path, order=ORDER, schedule=SCHEDULE):
    (tmp_path / "order.toml").write_text(order, encoding="utf-8")
    (tmp_path / "schedule.csv").write_text(schedule, encoding="utf-8")
    return tmp_path / "order.toml", tmp_path / "schedule.csv"


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*.toml")}


def refused(tmp_path, data, order=ORDER, schedule=SCHEDULE) -> list[str]:
    before = snapshot(data)
    with pytest.raises(ImportRefused) as caught:
        import_order(*write_order(tmp_path, order, schedule), data, today=TODAY)
    assert snapshot(data) == before, "a refused import must write nothing"
    return [problem.format() for problem in caught.value.problems]


def test_new_sites_become_entities_case_and_source_that_lint_clean(tmp_path, data):
    plan, problems = import_order(*write_order(tmp_path), data, today=TODAY)
    assert problems == []
    assert lint(data, TODAY) == []
    one = tomllib.loads((data / "entities" / "stream-one.toml").read_text(encoding="utf-8"))
    assert one["domains"] == ["streamone-test.com", "streamone-test.net"]
    assert one["description"] == "Streaming site named in the test order, Stream One."
    assert one["de"]["description"] == "Streaming-Seite aus der Testanordnung, Stream One."
    two = tomllib.loads((data / "entities" / "stream-two.toml").read_text(encoding="utf-8"))
    assert two["de"]["description"] == "Eigene deutsche Beschreibung von Stream Two."
    case = tomllib.loads((data / "cases" / "test-order-2020.toml").read_text(encoding="utf-8"))
    assert [(p["entity_id"], p["role"]) for p in case["parties"]] == [
        ("stream-one", "subject"), ("stream-two", "subject"), ("test-studio", "plaintiff")]
    assert case["de"]["summary"].startswith("Filmstudios")
    assert case["last_reviewed"] == TODAY
    assert (data / "sources" / "test-court-2020-05-01-order.toml").exists()
    assert len(plan.files) == 5


def test_a_site_whose_domain_is_listed_is_that_entity_and_its_file_is_left_alone(tmp_path, data):
    before = (data / "entities" / "the-pirate-bay.toml").read_bytes()
    schedule = SCHEDULE + "The Pirate Bay,thepiratebay.org newtpb-test.org,\n"
    plan, problems = import_order(*write_order(tmp_path, schedule=schedule), data, today=TODAY)
    assert problems == []
    assert (data / "entities" / "the-pirate-bay.toml").read_bytes() == before
    assert not (data / "entities" / "the-pirate-bay-2.toml").exists()
    case = tomllib.loads((data / "cases" / "test-order-2020.toml").read_text(encoding="utf-8"))
    assert {"entity_id": "the-pirate-bay", "role": "subject",
            "source_ids": ["test-court-2020-05-01-order"]} in case["parties"]
    assert any("newtpb-test.org not added to the-pirate-bay" in line for line in plan.left_out)


def test_a_domain_that_is_not_registrable_is_refused_at_its_line(tmp_path, data):
    lines = refused(tmp_path, data, schedule=SCHEDULE + "Stream Three,www.streamthree-test.net,\n")
    assert any(line.startswith(f"{tmp_path / 'schedule.csv'}:4:") and "write streamthree-test.net" in line
               for line in lines), lines


def test_a_domain_listed_twice_names_its_first_line(tmp_path, data):
    lines = refused(tmp_path, data, schedule=SCHEDULE + "Stream Three,STREAMONE-TEST.NET,\n")
    assert any(":4:" in line and "first on line 2" in line for line in lines), lines


def test_a_site_without_german_text_is_refused(tmp_path, data):
    order = ORDER.replace('[sites.de]\ndescription = "Streaming-Seite aus der Testanordnung, {name}."\n', "")
    lines = refused(tmp_path, data, order=order)
    assert any(":2:" in line and "English and German" in line for line in lines), lines


def test_placeholder_text_is_refused(tmp_path, data):
    schedule = SCHEDULE + "Stream Three,streamthree-test.net,TODO Beschreibung\n"
    lines = refused(tmp_path, data, schedule=schedule)
    assert any(":4:" in line and "placeholder" in line for line in lines), lines


def test_an_existing_case_is_never_replaced(tmp_path, data):
    order = ORDER.replace('id = "test-order-2020"', 'id = "pirate-bay-trial-sweden"')
    lines = refused(tmp_path, data, order=order)
    assert any("pirate-bay-trial-sweden.toml exists already" in line for line in lines), lines


def test_an_unknown_column_is_refused_on_the_header_line(tmp_path, data):
    lines = refused(tmp_path, data, schedule=SCHEDULE.replace("description_de", "descripton_de", 1))
    assert any(":1:" in line and "descripton_de" in line for line in lines), lines


def test_an_unknown_source_is_refused(tmp_path, data):
    schedule = "name,domains,source_ids\nStream Three,streamthree-test.net,no-such-source\n"
    lines = refused(tmp_path, data, schedule=schedule)
    assert any(":2:" in line and "no-such-source" in line for line in lines), lines


def test_what_the_linter_refuses_is_not_written(tmp_path, data):
    lines = refused(tmp_path, data, order=ORDER.replace("decided = 2020-05-01", "decided = 2099-05-01"))
    assert any("test-order-2020.toml" in line and "future" in line for line in lines), lines


def test_the_command_writes_and_ends_with_a_clean_lint(tmp_path, data):
    order, schedule = write_order(tmp_path)
    done = subprocess.run([CASEFLAG, "data", "import-order", str(schedule), "--order", str(order),
                           "--path", str(data)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "all records pass" in done.stderr
    assert f"wrote {data / 'entities' / 'stream-one.toml'}" in done.stdout


def test_the_command_reports_bad_input_with_file_and_line_and_exit_1(tmp_path, data):
    order, schedule = write_order(tmp_path, schedule="name,domains\nStream,not a domain\n")
    done = subprocess.run([CASEFLAG, "data", "import-order", str(schedule), "--order", str(order),
                           "--path", str(data), "--dry-run"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"{schedule}:2:" in done.stderr and "Traceback" not in done.stderr


def test_written_toml_reads_back_as_the_same_record():
    record = {"id": "x", "name": "Ä \"quoted\"\nline", "domains": ["a.example.net", "b.example.net"],
              "last_reviewed": TODAY, "de": {"description": "Ü"},
              "aliases": [{"domain": "c.example.net", "relation": "mirror", "source_ids": ["s" * 60, "t" * 60]}]}
    assert tomllib.loads(dumps(record)) == record


def test_aliases_role_and_a_site_without_a_domain(tmp_path, data):
    schedule = ("name,domains,aliases,alias_relation,role,note\n"
                "Stream One,streamone-test.com,streamone-test.org@test-court-2020-05-01-order,mirror,defendant,\n"
                "Stream Two,,,,,No source names its domain.\n")
    plan, problems = import_order(*write_order(tmp_path, schedule=schedule), data, today=TODAY)
    assert problems == []
    one = tomllib.loads((data / "entities" / "stream-one.toml").read_text(encoding="utf-8"))
    assert one["aliases"] == [{"domain": "streamone-test.org", "relation": "mirror",
                               "source_ids": ["test-court-2020-05-01-order"]}]
    two = tomllib.loads((data / "entities" / "stream-two.toml").read_text(encoding="utf-8"))
    assert two["domains"] == [] and two["note"] == "No source names its domain."
    case = tomllib.loads((data / "cases" / "test-order-2020.toml").read_text(encoding="utf-8"))
    assert {p["entity_id"]: p["role"] for p in case["parties"]} == {
        "stream-one": "defendant", "stream-two": "subject", "test-studio": "plaintiff"}


def test_a_row_without_domains_or_reason_and_a_bad_role_are_refused(tmp_path, data):
    schedule = "name,domains,role\nStream One,,\nStream Two,streamtwo-test.net,villain\n"
    lines = refused(tmp_path, data, schedule=schedule)
    assert any(":2:" in line and "no domains" in line for line in lines), lines
    assert any(":3:" in line and "villain" in line for line in lines), lines


def test_an_order_whose_only_subject_is_already_listed_needs_no_rows(tmp_path, data):
    order = ORDER.replace('[sites]', '[[case.parties]]\nentity_id = "the-pirate-bay"\nrole = "subject"\n'
                                     'source_ids = ["test-court-2020-05-01-order"]\n\n[sites]')
    plan, problems = import_order(*write_order(tmp_path, order=order, schedule="name,domains\n"), data, today=TODAY)
    assert problems == [] and (data / "cases" / "test-order-2020.toml").exists()
    lines = refused(tmp_path, data, order=ORDER.replace('id = "test-order-2020"', 'id = "test-order-2021"'),
                    schedule="name,domains\n")
    assert any("names no site" in line for line in lines), lines
