"""The extension's built-in index: what it holds, byte-identical for the same data, equal to the shipped
extension/data/index.json, compact per domain, and served at /api/v1/dataset/index with ETag and 304."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from caseflag.commands import cli
from caseflag.data.dataset import Dataset
from caseflag.exports.extension_index import FORMAT, build_index, cached_index, index_text, newest_date
from caseflag.data.lint import lint
from caseflag.core.messages import catalogues
from caseflag.core.specialuse import NEVER_RESOLVED_TLDS, SPECIAL_USE_KINDS, SPECIAL_USE_SUFFIXES

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
SHIPPED = ROOT / "extension" / "data" / "index.json"
EXPORT_COMMAND = ".venv/bin/caseflag data export --format extension -o extension/data/index.json"


@pytest.fixture(scope="module")
def dataset():
    return Dataset.load(DATA_DIR)


@pytest.fixture(scope="module")
def index(dataset):
    return json.loads(index_text(dataset))


def test_the_shipped_index_is_what_data_builds_today(dataset):
    shipped = SHIPPED.read_bytes() if SHIPPED.is_file() else b""
    assert shipped == index_text(dataset).encode("utf-8"), (
        f"extension/data/index.json is not what data/ builds today; run `{EXPORT_COMMAND}` and commit the file")


def test_same_data_gives_the_same_bytes(dataset, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    again = Dataset.load(copy)
    assert again.version == dataset.version
    assert index_text(again) == index_text(dataset) == index_text(Dataset.load(DATA_DIR))


def test_same_bytes_whatever_the_hash_seed():
    """Sets and dicts are ordered before writing: two processes with other string hashes agree."""
    caseflag = Path(sys.executable).with_name("caseflag")
    outputs = [subprocess.run([str(caseflag), "data", "export", "--format", "extension", "--path", str(DATA_DIR)],
                              capture_output=True, check=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert outputs[0] == outputs[1] == SHIPPED.read_bytes()


def test_a_change_to_the_data_changes_version_and_bytes(dataset, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    path = copy / "entities" / "mega.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('name = "MEGA"', 'name = "MEGA Ltd"'), encoding="utf-8")
    changed = json.loads(index_text(Dataset.load(copy)))
    assert changed["version"] != dataset.version
    assert next(e for e in changed["entities"] if e["id"] == "mega")["entry"]["entity"]["en"]["name"] == "MEGA Ltd"
    assert changed["date"] >= newest_date(dataset)


def test_top_level_fields(index, dataset):
    assert list(index)[:3] == ["format", "version", "date"]
    assert index["format"] == FORMAT == 2
    assert index["version"] == dataset.version
    reviewed = [record["last_reviewed"] for kind in (dataset.entities, dataset.cases, dataset.providers)
                for record in kind.values()]
    assert index["date"] == newest_date(dataset) >= max(reviewed)
    assert index["special_use"] == {"suffixes": {suffix: SPECIAL_USE_KINDS[suffix] for suffix in SPECIAL_USE_SUFFIXES},
                                    "never_resolved": list(NEVER_RESOLVED_TLDS)}
    assert index["messages"] == catalogues() and index["registrable_only"] is True
    assert index["badges"]["target"] == {"text": "!", "color": "#c62828"}


def test_the_version_is_the_servers(client, index):
    assert client.get("/healthz").get_json()["dataset_version"] == index["version"]


def test_every_domain_and_alias_is_there_with_its_entity(index, dataset):
    listed = {}
    for entity in index["entities"]:
        listed.update({domain: (entity["id"], None) for domain in entity["domains"]})
        listed.update({a["domain"]: (entity["id"], a["relation"]) for a in entity["entry"]["aliases"]})
    expected = {}
    for entity in dataset.entities.values():
        expected.update({domain: (entity["id"], None) for domain in entity.get("domains", [])})
        expected.update({a["domain"]: (entity["id"], a["relation"]) for a in entity.get("aliases", [])})
    assert listed == expected and len(listed) == dataset.counts()["domains"]


def test_entities_carry_what_the_popup_shows(index, dataset):
    entities = {entity["id"]: entity for entity in index["entities"]}
    assert set(entities) == set(dataset.entities)
    bay = entities["the-pirate-bay"]
    summary = bay["entry"]["entity"]["en"]
    assert summary["name"] == "The Pirate Bay" and summary["kind"] == "website" and summary["status"]
    assert bay["entry"]["role"] == "subject" and summary["description"] and bay["level"] == "target"
    assert bay["explanations"]["en"][0]["code"] == "belongs_to"
    assert bay["explanations"].get("de", bay["explanations"]["en"])[0]["code"] == "belongs_to"
    # The Pirate Bay is in more than one case (the Stockholm trial, the UK blocking order): find the trial by id.
    case_id, role, sources = next(entry for entry in bay["entry"]["cases"] if entry[0] == "pirate-bay-trial-sweden")
    assert role == "subject"
    case = index["cases"][case_id]["en"]
    assert case["court"].startswith("Stockholm District Court") and case["docket"] == "B 13301-06"
    assert case["date"] and case["type"] == "criminal" and case["status"] == "convicted"
    assert "court-stockholm-2009-04-17-pirate-bay-judgment" in sources
    for source_id in sources:
        source = index["sources"][source_id]
        assert {"publisher", "title", "date", "language", "kind"} <= set(source)
    with_url = [s for s in index["sources"].values() if "url" in s]
    assert with_url and all(s["url"].startswith(("http://", "https://")) for s in with_url)
    assert len(with_url) == sum(1 for s in dataset.sources.values() if s.get("url"))


def test_links_come_from_dataset_related(index, dataset):
    for entity in index["entities"]:
        ids = {(rel["id"], rel["relation"]) for rel in entity["entry"]["related"]}
        assert ids == {(other["id"], relation) for relation, other in dataset.related(entity["id"])}
    mega = next(e for e in index["entities"] if e["id"] == "mega")
    assert [(r["id"], r["relation"], r["role"]) for r in mega["entry"]["related"]] == [("megaupload", "predecessor", "defendant")]
    assert mega["level"] == "related" and mega["explanations"]["en"][0]["code"] == "belongs_to_related"


def test_providers_with_ranges_patterns_and_headers(index):
    [cloudflare] = index["providers"]
    assert cloudflare["id"] == "cloudflare" and cloudflare["short_label"] == "CF"
    assert "104.16.0.0/13" in cloudflare["ipv4"] and "2606:4700::/32" in cloudflare["ipv6"]
    assert cloudflare["explanations"]["en"] == [{"code": "provider_sued", "params": {
        "provider": "Cloudflare", "role": "defendant", "count": len(cloudflare_cases(index))}}]
    assert cloudflare["header_patterns"] == [{"name": "cf-ray"}, {"name": "server", "value": "cloudflare"}]


def cloudflare_cases(index) -> list:
    entity = next(e for e in index["entities"] if e["id"] == "cloudflare")
    return [ref for ref in entity["entry"]["cases"] if ref[1] != "mentioned"]


def test_public_suffix_rules_of_both_sections_in_punycode(index):
    icann, private = (set(index["public_suffixes"][key]) for key in ("icann", "private"))
    assert {"com", "co.uk", "*.ck", "!www.ck", "*.kawasaki.jp", "!city.kawasaki.jp", "onion"} <= icann
    assert {"github.io", "blogspot.com"} <= private and not icann & private
    assert "xn--p1ai" in icann  # .рф
    assert all(rule.isascii() and rule == rule.lower() for rule in icann | private)
    assert len(icann) > 6000 and len(private) > 2000


def test_not_global_networks_follow_python(index):
    import ipaddress

    def refused(address: str) -> bool:
        ip = ipaddress.ip_address(address)
        networks = index["not_global"][f"ipv{ip.version}"]
        return any(ip in ipaddress.ip_network(net) for net in networks)

    for address in ("10.1.2.3", "100.64.0.1", "192.0.0.9", "8.8.8.8", "::1", "2001:db8::1", "::ffff:10.0.0.1",
                    "::ffff:8.8.8.8", "::ffff:100.64.0.1", "2606:4700::1", "fe80::1", "64:ff9b::808:808", "0.0.0.0"):
        assert refused(address) == (not ipaddress.ip_address(address).is_global), address


def test_small_per_domain_on_a_generated_index(tmp_path, dataset):
    """≤ 40 bytes per added domain: 10,000 generated domains beside the bundled data."""
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_dataset import generate

    added = generate(tmp_path / "data", 100, 100)
    big = index_text(Dataset.load(tmp_path / "data")).encode("utf-8")
    per_domain = (len(big) - len(index_text(dataset).encode("utf-8"))) / added
    assert 10 < per_domain <= 40, per_domain


def test_export_command_writes_the_index(tmp_path, dataset):
    out = tmp_path / "index.json"
    assert cli.main(["data", "export", "--format", "extension", "--path", str(DATA_DIR), "-o", str(out)]) == 0
    assert out.read_bytes() == index_text(dataset).encode("utf-8")


# --- data: header_patterns ------------------------------------------------------------------------

def _provider_copy(tmp_path: Path, old: str, new: str) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    path = copy / "providers" / "cloudflare.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def test_lint_wants_header_patterns_sorted_and_lowercase(tmp_path):
    unsorted = _provider_copy(tmp_path / "a", '    { name = "cf-ray" },\n    { name = "server", value = "cloudflare" },\n',
                              '    { name = "server", value = "cloudflare" },\n    { name = "cf-ray" },\n')
    assert any("header_patterns is not sorted" in p.message for p in lint(unsorted))
    upper = _provider_copy(tmp_path / "b", '{ name = "cf-ray" }', '{ name = "CF-Ray" }')
    assert any("header_patterns" in p.message and p.fatal for p in lint(upper))
    assert not lint(DATA_DIR)


# --- GET /api/v1/dataset/index ----------------------------------------------------------------------

def test_endpoint_serves_the_index_with_a_strong_etag_and_304(client, dataset):
    response = client.get("/api/v1/dataset/index")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.data == index_text(dataset).encode("utf-8") == SHIPPED.read_bytes()
    etag = response.headers["ETag"]
    assert etag == '"' + hashlib.sha256(response.data).hexdigest()[:32] + '"' and not etag.startswith("W/")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    again = client.get("/api/v1/dataset/index", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get("/api/v1/dataset/index", headers={"If-None-Match": '"other"'}).status_code == 200


def test_endpoint_follows_a_reload(app_factory, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    app = app_factory(DATA_DIR=str(copy))
    client = app.test_client()
    first = client.get("/api/v1/dataset/index")
    path = copy / "entities" / "mega.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('name = "MEGA"', 'name = "MEGA Ltd"'), encoding="utf-8")
    assert app.extensions["caseflag"].store.reload()
    second = client.get("/api/v1/dataset/index", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    assert json.loads(second.data)["version"] == app.extensions["caseflag"].dataset.version


def test_built_once_per_dataset(dataset):
    first = cached_index(dataset)
    assert cached_index(dataset) is first
    assert build_index(dataset)["version"] == dataset.version
