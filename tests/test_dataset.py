"""Loading data/: indexes, the version hash, the contribution path and the reload that keeps good data."""

import json
import shutil
import typing
from pathlib import Path

import msgspec
import pytest

from caseflag.data.dataset import Dataset, DatasetStore, DomainMatch
from caseflag.data.lint_schema import SCHEMA_FILES
from caseflag.data.model import KIND_TYPES
from caseflag.core.domains import parse
from caseflag.core.errors import DatasetError
from caseflag.data.lint import lint
from conftest import DATA_DIR

NEW_SOURCE = '''id = "example-news-2020-02-03-streamsite-sued"
url = "https://news.example.org/2020/02/03/streamsite-sued"
publisher = "Example News"
title = "Labels sue a streaming site"
language = "en"
published = 2020-02-03
kind = "news"
last_reviewed = 2026-11-30
'''
NEW_ENTITY = '''id = "streamsite"
name = "Streamsite"
kind = "website"
domains = ["streamsite-example.com"]
status = "active"
description = "A made-up streaming site, added the way CONTRIBUTING.md describes."
source_ids = ["example-news-2020-02-03-streamsite-sued"]
last_reviewed = 2026-11-30

[de]
description = "Eine erfundene Streaming-Seite, eingetragen wie in CONTRIBUTING.md beschrieben."
'''
NEW_CASE = '''id = "labels-v-streamsite"
title = "Record labels v. Streamsite"
type = "lawsuit"
jurisdiction = "US"
status = "filed"
summary = "A made-up lawsuit, added the way CONTRIBUTING.md describes."
source_ids = ["example-news-2020-02-03-streamsite-sued"]
last_reviewed = 2026-11-30

[de]
summary = "Eine erfundene Klage, eingetragen wie in CONTRIBUTING.md beschrieben."

[dates]
filed = 2020-02-03

[[parties]]
entity_id = "riaa"
role = "plaintiff"
source_ids = ["example-news-2020-02-03-streamsite-sued"]

[[parties]]
entity_id = "streamsite"
role = "defendant"
source_ids = ["example-news-2020-02-03-streamsite-sued"]
'''


@pytest.fixture
def data_copy(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def add_record(data_dir: Path, kind: str, text: str) -> None:
    record_id = text.split('"', 2)[1]
    (data_dir / kind / f"{record_id}.toml").write_text(text, encoding="utf-8")


def test_bundled_data_loads_with_every_entity_the_articles_name():
    dataset = Dataset.load(DATA_DIR)
    names = " | ".join(entity["name"] for entity in dataset.entities.values())
    for expected in ["Cloudflare", "RIAA", "Maggie Sottero", "Mon Cheri", "ALS Scan", "Allofmp3", "Mp3sparks",
                     "Megaupload", "Kim Dotcom", "MEGA", "The Pirate Bay", "Boerse", "USTR", "EMI", "Warner",
                     "Universal"]:
        assert expected.lower() in names.lower(), expected
    publishers = {source["publisher"] for source in dataset.sources.values()}
    for expected in ["TorrentFreak", "WinFuture", "Tarnkappe.info", "silicon.de", "Complete Music Update", "taz"]:
        assert any(expected.lower() in p.lower() for p in publishers), expected
    for case in dataset.cases.values():
        assert case["source_ids"]
        assert all(party["source_ids"] for party in case["parties"])


def test_the_articles_facts_are_in_the_cases():
    dataset = Dataset.load(DATA_DIR)
    bridal = next(c for c in dataset.cases.values() if "Sottero" in c["title"])
    assert bridal["dates"]["filed"] == "2018-11-07" and "California" in bridal["court"]
    kvasov = next(c for c in dataset.cases.values() if any(p["entity_id"] == "denis-kvasov" for p in c["parties"]))
    assert kvasov["status"] == "acquitted" and kvasov["type"] == "criminal"
    als = next(c for c in dataset.cases.values() if "ALS Scan" in c["title"])
    assert als["status"] in ("settled", "dismissed") and "dismiss" in als["outcome"].lower()
    assert dataset.entities["mp3sparks"]["successor_of"] == "allofmp3"


def test_the_german_text_and_review_dates_reach_the_dataset(data_copy):
    """The loader passes each record's [de] table through as it is (the API renders it with
    lang=de), and every source carries its last_reviewed date."""
    add_record(data_copy, "sources", NEW_SOURCE)
    add_record(data_copy, "entities", NEW_ENTITY)
    add_record(data_copy, "cases", NEW_CASE)
    dataset = Dataset.load(data_copy)
    assert dataset.entities["streamsite"]["de"] == {
        "description": "Eine erfundene Streaming-Seite, eingetragen wie in CONTRIBUTING.md beschrieben."}
    assert dataset.cases["labels-v-streamsite"]["de"]["summary"].startswith("Eine erfundene Klage")
    assert dataset.sources["example-news-2020-02-03-streamsite-sued"]["last_reviewed"] == "2026-11-30"
    bundled = Dataset.load(DATA_DIR)
    assert all(entity["de"]["description"] for entity in bundled.entities.values())
    assert all(case["de"]["summary"] for case in bundled.cases.values())
    assert all(source["last_reviewed"] for source in bundled.sources.values())


def test_a_source_without_last_reviewed_is_refused_at_load(data_copy):
    add_record(data_copy, "sources", NEW_SOURCE.replace("last_reviewed = 2026-11-30\n", ""))
    with pytest.raises(DatasetError) as info:
        Dataset.load(data_copy)
    assert "example-news-2020-02-03-streamsite-sued.toml:1" in info.value.message
    assert "last_reviewed" in info.value.message


def test_match_walks_subdomains_and_aliases():
    dataset = Dataset.load(DATA_DIR)
    assert dataset.match(parse("deep.www.thepiratebay.org")).entity["id"] == "the-pirate-bay"
    alias = dataset.match(parse("boerse.bz"))
    assert alias.entity["id"] == "boerse" and alias.matched_by == "alias" and alias.relation == "former"
    assert dataset.match(parse("notthepiratebay.org")) is None
    assert dataset.match(parse("thepiratebay.org.evil.com")) is None
    sub = dataset.match(parse("deep.www.thepiratebay.org"))
    assert isinstance(sub, DomainMatch)
    assert (sub.matched_by, sub.domain, sub.relation) == ("registrable_domain", "thepiratebay.org", None)
    with pytest.raises(AttributeError):
        sub.domain = "other.org"  # a match is a value: it cannot be changed after the fact


def _walk_index(dataset: Dataset) -> dict:
    """The domain index as Dataset builds it from its entities, without the linter's."""
    index = {}
    for entity in dataset.entities.values():
        index.update(dict.fromkeys(entity.get("domains", []), (entity, None)))
        for alias in entity.get("aliases", []):
            index[alias["domain"]] = (entity, alias["relation"])
    return index


def test_the_linters_domain_index_is_the_one_the_dataset_would_build(data_copy):
    add_record(data_copy, "sources", NEW_SOURCE)
    add_record(data_copy, "entities", NEW_ENTITY)
    dataset = Dataset.load(data_copy)
    index = _walk_index(dataset)
    assert dataset._domains == index and list(dataset._domains) != []
    assert all(dataset._domains[name][0] is index[name][0] for name in index)  # the entity itself, not a copy
    assert any(relation is not None for _, relation in index.values())  # aliases included


def _reference_match(dataset: Dataset, hostname):
    """The first of the host's candidates (most specific first) that is listed, as a DomainMatch."""
    for candidate in hostname.candidates():
        hit = dataset._domains.get(candidate)
        if hit is not None:
            entity, relation = hit
            matched_by = ("alias" if relation is not None else
                          "registrable_domain" if candidate == hostname.registrable_domain else "hostname")
            return DomainMatch(entity, matched_by, candidate, relation)
    return None


def test_match_answers_as_the_walk_over_candidates():
    """For listed names, their subdomains, aliases, IP addresses and unlisted names match answers
    exactly what the walk over every candidate answers, by its one lookup (registrable_only) and
    by the walk itself."""
    dataset = Dataset.load(DATA_DIR)
    assert dataset.registrable_only
    walking = Dataset.load(DATA_DIR)
    walking.registrable_only = False
    listed = sorted(_walk_index(dataset))
    names = listed + [f"www.{name}" for name in listed] + [f"a.b.c.{name}" for name in listed]
    names += [f"{name}.evil.com" for name in listed] + ["notthepiratebay.org", "1.1.1.1", "2606:4700::1111",
                                                        "x.blogspot.com", "www.ck", "a.www.ck", "city.kobe.jp"]
    for name in names:
        hostname = parse(name)
        assert dataset.match(hostname) == walking.match(hostname) == _reference_match(dataset, hostname), name
    assert sum(dataset.match(parse(name)) is not None for name in names) >= 3 * len(listed)


def test_provider_indexes():
    dataset = Dataset.load(DATA_DIR)
    assert dataset.providers_for_address("104.21.16.1")[0][0] == "cloudflare"
    assert dataset.providers_for_address("2606:4700::1")[0][0] == "cloudflare"
    assert dataset.providers_for_address("93.184.216.34") == ()
    assert dataset.provider_for_asn(13335) == "cloudflare"
    assert dataset.provider_for_nameserver("bob.ns.cloudflare.com") == ("cloudflare", "*.ns.cloudflare.com")
    assert dataset.provider_for_nameserver("ns.cloudflare.com.evil.net") is None
    assert dataset.provider_for_cname("x.cdn.cloudflare.net")[0] == "cloudflare"


def test_version_is_a_hash_of_the_content(data_copy):
    before = Dataset.load(data_copy).version
    assert Dataset.load(data_copy).version == before
    add_record(data_copy, "sources", NEW_SOURCE)
    assert Dataset.load(data_copy).version != before


def test_contributing_path_new_entity_appears_after_restart(data_copy, app_factory):
    """Add a source, an entity and a case as CONTRIBUTING.md says; lint passes; the API finds it."""
    add_record(data_copy, "sources", NEW_SOURCE)
    add_record(data_copy, "entities", NEW_ENTITY)
    add_record(data_copy, "cases", NEW_CASE)
    assert lint(data_copy) == []
    client = app_factory(DATA_DIR=str(data_copy), DNS_ENABLED=False).test_client()
    body = client.get("/api/v1/check?domain=www.streamsite-example.com").get_json()
    assert body["verdict"]["level"] == "target"
    assert body["matches"][0]["entity"]["name"] == "Streamsite"
    assert body["matches"][0]["cases"][0]["sources"][0]["url"].startswith("https://news.example.org/")


def test_broken_data_is_refused_at_load(data_copy):
    (data_copy / "entities" / "broken.toml").write_text('id = "broken"\nname = \n', encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        Dataset.load(data_copy)
    assert "broken.toml:2" in info.value.message


def test_reload_meeting_a_broken_file_keeps_the_last_good_dataset(data_copy):
    store = DatasetStore(data_copy)
    good = store.current
    (data_copy / "cases" / "bad.toml").write_text('id = "bad"\n', encoding="utf-8")
    assert store.reload() is False
    assert store.current is good
    assert "bad.toml" in store.last_error
    (data_copy / "cases" / "bad.toml").unlink()
    assert store.reload() is True and store.last_error is None


JSON_TYPES = {str: "string", int: "integer", bool: "boolean"}


def agree(kind, node: dict, schema: dict, where: str) -> None:
    """The TypedDict `kind` and the schema `node` name the same fields, required and optional, of the
    same JSON types and (for a Literal) the same values, down through nested objects and lists."""
    definitions = schema.get("$defs", {})

    def resolve(item: dict) -> dict:
        ref = item.get("$ref", "")
        return resolve(definitions[ref.removeprefix("#/$defs/")]) if ref.startswith("#/$defs/") else item

    node = resolve(node)
    assert node["additionalProperties"] is False, where
    assert set(node.get("required", [])) == kind.__required_keys__, where
    assert set(node["properties"]) == kind.__required_keys__ | kind.__optional_keys__, where
    for key, hint in typing.get_type_hints(kind).items():
        item, here = resolve(node["properties"][key]), f"{where}.{key}"
        if typing.get_origin(hint) is list:
            assert item["type"] == "array", here
            (hint,) = typing.get_args(hint)
            item = resolve(item["items"])
        if typing.is_typeddict(hint):
            agree(hint, item, schema, here)
        elif typing.get_origin(hint) is typing.Literal:
            assert set(item["enum"]) == set(typing.get_args(hint)), here
        else:
            assert item["type"] == JSON_TYPES[hint], here


@pytest.mark.parametrize("kind", sorted(KIND_TYPES))
def test_the_records_model_agrees_with_the_json_schemas(kind):
    """data/model.py's type for each kind has the fields, types and values of its schema in data/schema/."""
    schema = json.loads((DATA_DIR / "schema" / SCHEMA_FILES[kind]).read_text(encoding="utf-8"))
    agree(KIND_TYPES[kind], schema, schema, kind)


def test_every_bundled_record_is_of_its_kinds_type():
    """msgspec reads each bundled record as its kind's type and gives back the same record."""
    dataset = Dataset.load(DATA_DIR)
    for kind, type_ in KIND_TYPES.items():
        records = getattr(dataset, kind)
        assert records, kind
        for record in records.values():
            assert msgspec.convert(record, type_) == record, (kind, record["id"])
