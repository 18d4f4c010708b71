"""extension/local.js, run by node, gives the server's whole answer for what a browser hands over
(`new URL(u).hostname`): the same level, badge, matches, explanations, reasons in English and German,
and refusals word for word; with a provider, its answer from the connection's address is the server's
with that provider found by DNS. The server wrote every verdict into the index; local.js only looks up."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from caseflag.core import config
from caseflag.data.dataset import Dataset
from caseflag.exports.extension_index import index_text
from caseflag.exports.locales import write_locales
from caseflag.service.lookup import create_service
from caseflag.core.messages import catalogues
from caseflag.service.verdict import BADGE_COLORS
from dnsserver import DnsTestServer

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
EXTENSION = ROOT / "extension"
RUNNER = Path(__file__).with_name("local_runner.mjs")
NODE = shutil.which("node") or "/usr/bin/node"
ONION = "pirateb" + "a" * 49 + ".onion"  # a v3 onion name: 56 base32 characters
LANGS = ("en", "de")
CLOUDFLARE_IP = "104.16.5.5"


def run_node(payload: dict, extension: Path | None = None) -> list:
    env = {"PATH": "/usr/bin:/bin", **({"CASEFLAG_EXTENSION": str(extension)} if extension else {})}
    done = subprocess.run([NODE, "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", str(RUNNER)], env=env,
                          input=json.dumps(payload), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def browser_hosts(urls: list[str]) -> list[str]:
    """What the browser hands the extension for each URL (those it cannot open left out)."""
    hosts = run_node({"browser": urls})
    return list(dict.fromkeys(host for host in hosts if host))


class Pair:
    """The server (offline) and local.js over one data folder, each given the same inputs."""

    def __init__(self, data_dir: Path, tmp: Path, nameserver: str | None = None) -> None:
        settings = {"DATA_DIR": str(data_dir), "RELOAD_INTERVAL": 0}
        settings.update({"DNS_NAMESERVERS": [nameserver], "DNS_BUDGET": 2.0} if nameserver else {"DNS_ENABLED": False})
        self.service = create_service(config.resolve(settings))
        self.index = tmp / "index.json"
        self.index.write_text(index_text(self.service.dataset), encoding="utf-8")
        self.extension: Path | None = None

    def server(self, texts: list[str], lang: str = "en", offline: bool = True) -> list[dict]:
        return self.service.check_many(texts, lang=lang, offline=offline)

    def local(self, texts: list, connection: dict | None = None, lang: str = "en") -> list[dict]:
        queries = [{"text": text, "lang": lang, **({"connection": connection} if connection else {})} for text in texts]
        return run_node({"index": str(self.index), "queries": queries}, self.extension)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return Pair(DATA_DIR, tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="module")
def onion_pair(tmp_path_factory):
    """The bundled data plus a site listed by its onion name, which has a predecessor that is a party."""
    folder = tmp_path_factory.mktemp("onion-data")
    for kind in ("schema", "sources", "cases", "providers", "entities"):
        shutil.copytree(DATA_DIR / kind, folder / kind)
    (folder / "entities" / "onion-bay.toml").write_text(
        'id = "onion-bay"\nname = "Onion Bay"\nkind = "website"\n'
        f'domains = ["{ONION}"]\nstatus = "active"\nsuccessor_of = "riaa"\n'
        'description = "A test record: a site known by its onion name."\n'
        "last_reviewed = 2026-11-01\n", encoding="utf-8")
    return Pair(folder, tmp_path_factory.mktemp("onion-index"))


@pytest.fixture(scope="module")
def german_pair(tmp_path_factory):
    """data/ itself, whose records carry [de] tables and where The Pirate Bay and Boerse are only mentioned in
    the bridal case."""
    return Pair(DATA_DIR, tmp_path_factory.mktemp("de-index"))


def _entity_toml(entity_id: str, name: str, kind: str, domains: list[str], **links: str) -> str:
    lines = [f'id = "{entity_id}"', f'name = "{name}"', f'kind = "{kind}"', f"domains = {json.dumps(domains)}",
             'status = "active"', f'description = "A test record: {name}."', "last_reviewed = 2026-11-01"]
    return "\n".join(lines + [f'{key} = "{value}"' for key, value in links.items()]) + "\n"


@pytest.fixture(scope="module")
def relations_pair(tmp_path_factory):
    """Sites named in no case that are mirrors of, and operated by, entities that are (and are not):
    every relation read both ways, the level related with more than one tied entity."""
    folder = tmp_path_factory.mktemp("relations-data")
    for kind in ("schema", "sources", "cases", "providers", "entities"):
        shutil.copytree(DATA_DIR / kind, folder / kind)
    records = {
        "bay-mirror": _entity_toml("bay-mirror", "Bay Mirror", "website", ["bay-mirror-test.org"],
                                   mirror_of="the-pirate-bay", operated_by="mediaservices"),
        "mirror-mirror": _entity_toml("mirror-mirror", "mirror Mirror", "website", ["mirror-mirror-test.org"],
                                      mirror_of="bay-mirror", operated_by="quiet-operator"),
        "quiet-operator": _entity_toml("quiet-operator", "Quiet Operator", "company", ["quiet-operator-test.net"]),
        "alpha-site": _entity_toml("alpha-site", "alpha site", "website", ["alpha-site-test.net"],
                                   operated_by="quiet-operator", successor_of="mega"),
        "riaa-mirror": _entity_toml("riaa-mirror", "RIAA Mirror", "website", ["riaa-mirror-test.org"],
                                    mirror_of="riaa", operated_by="mediaservices"),
    }
    for entity_id, text in records.items():
        (folder / "entities" / f"{entity_id}.toml").write_text(text, encoding="utf-8")
    return Pair(folder, tmp_path_factory.mktemp("relations-index"))


@pytest.fixture(scope="module")
def nested_pair(relations_pair, tmp_path_factory):
    """Names listed below other names (the linter refuses them, an index from elsewhere may hold them):
    the server's match walks the host's parents, and so must local.js."""
    dataset = relations_pair.service.dataset
    entities = {key: dict(value) for key, value in dataset.entities.items()}
    entities["mirror-mirror"]["domains"] = ["mirror-mirror-test.org", "m.bay-mirror-test.org"]
    entities["quiet-operator"]["domains"] = ["quiet-operator-test.net", "a.b.unlisted-parent-test.com"]
    nested = dataclasses.replace(dataset, version=dataset.version + "-nested", entities=entities,
                                 registrable_only=False, domain_index=None, memo={})
    tmp = tmp_path_factory.mktemp("nested-index")
    pair = Pair.__new__(Pair)
    pair.service = create_service(config.resolve({"DATA_DIR": str(dataset.data_dir), "DNS_ENABLED": False,
                                                  "RELOAD_INTERVAL": 0}))
    pair.service.store = SimpleNamespace(latest=lambda: nested)
    pair.index = tmp / "index.json"
    pair.index.write_text(index_text(nested), encoding="utf-8")
    pair.extension = None
    return pair


# --- what must agree --------------------------------------------------------------------------------

def _case(case: dict) -> dict:
    return {k: v for k, v in case.items() if k not in ("dates", "summary", "outcome")}


def _entry(match: dict) -> dict:
    return {**match, "cases": [_case(c) for c in match["cases"]],
            "related": [{**r, "cases": [_case(c) for c in r["cases"]]} for r in match["related"]]}


def differences(text: str, ours: dict, theirs: dict, *, same_infrastructure: bool = False) -> list[str]:
    """Where local.js's answer is not the server's. Offline, the last reason says why the infrastructure
    is unknown (the server's DNS is off, the browser's connection is not read) unless both skip it alike."""
    if "error" in ours or "error" in theirs:
        keep = ("query", "error", "status")
        mine, server = {k: ours.get(k) for k in keep}, {k: theirs.get(k) for k in keep}
        return [] if mine == server else [f"{text!r}: refused local {mine} server {server}"]
    found = []
    for key in ("query", "hostname", "hostname_unicode", "registrable_domain", "is_ip", "language", "dataset_version"):
        if ours.get(key) != theirs.get(key):
            found.append(f"{text!r}: {key} local {ours.get(key)!r} server {theirs.get(key)!r}")
    mine, server = ours["verdict"], theirs["verdict"]
    cut = None if same_infrastructure or ours["infrastructure"]["status"] != "skipped" or \
        ours["infrastructure"]["reason_code"] == theirs["infrastructure"]["reason_code"] else -1
    for key in ("level", "badge"):
        if mine[key] != server[key]:
            found.append(f"{text!r}: {key} local {mine[key]} server {server[key]}")
    for key in ("explanations", "reasons"):
        if mine[key][:cut] != server[key][:cut]:
            found.append(f"{text!r}: {key}\n  local  {mine[key][:cut]}\n  server {server[key][:cut]}")
    if [_entry(m) for m in ours["matches"]] != [_entry(m) for m in theirs["matches"]]:
        found.append(f"{text!r}: matches local {ours['matches']} server {theirs['matches']}")
    if same_infrastructure:
        for key in ("status", "reason", "reason_code", "addresses", "providers"):
            if ours["infrastructure"][key] != theirs["infrastructure"][key]:
                found.append(f"{text!r}: infrastructure.{key} local {ours['infrastructure'][key]} "
                             f"server {theirs['infrastructure'][key]}")
    return found


def parity(pair: Pair, texts: list[str], langs=LANGS) -> list[str]:
    found = []
    for lang in langs:
        for text, ours, theirs in zip(texts, pair.local(texts, lang=lang), pair.server(texts, lang), strict=True):
            found += differences(text, ours, theirs)
            if "error" not in ours:
                assert ours["source"] == "builtin" and ours["language"] == lang
    return found


def assert_parity(pair: Pair, texts: list[str], langs=LANGS) -> None:
    found = parity(pair, texts, langs)
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:20])


def listed_names(dataset: Dataset) -> list[str]:
    names = []
    for entity in dataset.entities.values():
        names += entity.get("domains", []) + [alias["domain"] for alias in entity.get("aliases", [])]
    return sorted(names)


# --- parity over what a browser hands over ----------------------------------------------------------

def test_every_listed_domain_and_alias(pair):
    names = listed_names(pair.service.dataset)
    assert len(names) > 20
    assert_parity(pair, names + [f"www.{name}" for name in names])


def test_variants_of_listed_names_as_the_browser_reads_them(pair):
    """Subdomains, case, trailing dot, ports, paths, userinfo, look-alikes: whatever the URL parser makes of them."""
    urls = []
    for name in listed_names(pair.service.dataset):
        urls += [f"https://a.b.c.{name}/", f"https://{name.upper()}/", f"https://WWW.{name}./x",
                 f"https://{name}:8443/path?q=1#f", f"http://user:pw@{name}/", f"https://not{name}/",
                 f"https://{name}.example.com/", f"https://{name}.evil.com/", f"https://x-{name}/",
                 "https://" + name.replace(".", "-") + ".com/", f"https://{name}../", f"https://{name}\u3002/"]
    hosts = browser_hosts(urls)
    assert len(hosts) > 100
    assert_parity(pair, hosts)


IDN_URLS = [f"https://{host}/" for host in (
    "bücher.de", "BÜCHER.de", "xn--bcher-kva.de", "münchen.de", "例え.jp", "пример.рф", "ß.com", "straße.de", "ﬁ.com",
    "Ｅｘａｍｐｌｅ.com", "a。b.com", "例え。jp", "💩.la", "xn--ls8h.la", "ü.com", "ｗｗｗ．ｍｅｇａ．ｎｚ", "MEGA.NZ",
    "thepiratеbay.org", "mega\u00ad.nz", "a\u00b7b.com", "l\u00b7l.cat", "e\u0301.com", "\u05d0\u05d1.com",
    "bücher.co.uk", "shop.bücher.github.io", "xn--zz.com", "xn--com-.com", "ü.example", "ü.test", "ü.onion")]
IP_URLS = ["http://1.1.1.1/", "http://104.16.0.1/", "http://8.8.8.8/", "http://10.0.0.1/", "http://127.0.0.1/",
           "http://192.168.1.1/", "http://100.64.0.1/", "http://0.0.0.0/", "http://255.255.255.255/",
           "http://0x7f.1/", "http://3232235777/", "http://1.1.1/", "http://[::1]/", "http://[2606:4700::1]/",
           "http://[fe80::1]/", "http://[::ffff:1.1.1.1]/", "http://[::ffff:10.0.0.1]/", "http://[2001:db8::1]/",
           "http://[2001:4860:4860::8888]:8080/", "http://[64:ff9b::1.1.1.1]/", "http://[::]/", "http://[1:0:0:2::3]/",
           "http://[1::2:0:0:3]/", "http://[0:0:1:0:0:1:0:0]/"]
SUFFIX_URLS = [f"https://{host}/" for host in (
    "co.uk", "com", "uk", "github.io", "x.github.io", "a.b.x.github.io", "kawasaki.jp", "foo.kawasaki.jp",
    "city.kawasaki.jp", "www.city.kawasaki.jp", "ck", "www.ck", "x.www.ck", "foo.ck", "a.foo.ck", "blogspot.com",
    "x.blogspot.com", "unknown-tld-zz", "x.unknown-tld-zz", "a.b.c.d.e.f.g.co.uk", "nic.uk", "x.nic.uk")]
SPECIAL_URLS = [f"http://{host}/" for host in (
    "localhost", "foo.localhost", "x.local", "x.test", "caseflag.test", "x.invalid", "x.example", "example.com",
    "shop.example.com", "www.example.org", "example.net", "x.internal", "x.alt", "home.arpa", "printer.home.arpa",
    "1.0.0.127.in-addr.arpa", "arpa", "test", "onion", "x.onion", "a.b.onion", "intranet", "lan", "x.lan")]
ODD_URLS = ["http://a*b.com/", "http://a$b.com/", "http://a!b.com/", "http://a~b.com/", "http://-a.com/",
            "http://a-.com/", "http://a_b.com/", "http://a..b.com/", "http://.a.com/", "http://" + "a" * 64 + ".com/",
            "http://" + "a" * 63 + ".com/", "http://" + ".".join(["a" * 60] * 5) + ".com/", "http://a{b}.com/",
            "http://a'b.com/", "http://a(b).com/", "http://a,b.com/", "http://a;b.com/", "http://a=b.com/"]


@pytest.mark.parametrize("group", ["IDN_URLS", "IP_URLS", "SUFFIX_URLS", "SPECIAL_URLS", "ODD_URLS"])
def test_chosen_forms_as_the_browser_hands_them_over(pair, group):
    hosts = browser_hosts(globals()[group])
    assert len(hosts) >= len(globals()[group]) // 2
    assert_parity(pair, hosts)


def test_refusals_are_worded_alike_and_say_what_a_name_is(pair):
    hosts = ["shop.example.com", "caseflag.test", "printer.local", "co.uk", "10.0.0.1", "intranet", "x.alt"]
    for lang, words in (("en", "reserved for examples, documentation and testing"),
                        ("de", "für Beispiele, Dokumentation und Tests reserviert")):
        answers = pair.local(hosts, lang=lang)
        assert all(answer["status"] == 422 for answer in answers)
        assert words in answers[0]["error"]["message"] and words in answers[1]["error"]["message"]
        assert not any("local address" in answer["error"]["message"] for answer in answers)
    assert_parity(pair, hosts)


def test_onion_names_listed_and_unlisted(onion_pair):
    hosts = [ONION, f"www.{ONION}", "x" + ONION[1:], "abc.onion", "onion"]
    assert_parity(onion_pair, hosts)
    listed, _, unlisted, *_ = onion_pair.local(hosts)
    assert listed["infrastructure"]["reason_code"] == "never_resolved"
    assert listed["verdict"]["explanations"][-1] == {"code": "infrastructure_never_resolved", "params": {}}
    assert unlisted["error"]["explanation"]["code"] == "error.onion_unlisted"


def test_mirrors_operators_and_the_related_level(relations_pair):
    names = listed_names(relations_pair.service.dataset)
    assert_parity(relations_pair, names + [f"www.{name}" for name in names])
    bay_mirror, pirate_bay = relations_pair.local(["bay-mirror-test.org", "thepiratebay.org"])
    assert bay_mirror["verdict"]["level"] == "related"
    assert [e["code"] for e in bay_mirror["verdict"]["explanations"]][:3] == [
        "belongs_to_related", "also_related", "has_relation"]
    assert "The Pirate Bay has a mirror: Bay Mirror." in pirate_bay["verdict"]["reasons"]


def test_names_listed_below_other_names_walk_the_parents_as_the_server(nested_pair):
    nested = ["m.bay-mirror-test.org", "x.m.bay-mirror-test.org", "x.bay-mirror-test.org", "m.x.bay-mirror-test.org",
              "unlisted-parent-test.com", "b.unlisted-parent-test.com", "c.b.unlisted-parent-test.com",
              "a.b.unlisted-parent-test.com", "x.a.b.unlisted-parent-test.com", "www.unlisted-parent-test.com"]
    assert_parity(nested_pair, nested)
    answer = nested_pair.local(["x.m.bay-mirror-test.org"])[0]
    assert [(m["entity"]["id"], m["matched_by"], m["matched_domain"]) for m in answer["matches"]] == [
        ("mirror-mirror", "hostname", "m.bay-mirror-test.org")]


def test_german_text_and_mentions_read_as_the_servers(german_pair):
    """The records' [de] text and the role mentioned: the same answers, the German ones German."""
    names = listed_names(german_pair.service.dataset)
    assert_parity(german_pair, names)
    answer = german_pair.local(["thepiratebay.org"], lang="de")[0]
    bay = tomllib.loads((DATA_DIR / "entities" / "the-pirate-bay.toml").read_text(encoding="utf-8"))
    trial_record = tomllib.loads((DATA_DIR / "cases" / "pirate-bay-trial-sweden.toml").read_text(encoding="utf-8"))
    trial = next(c for c in answer["matches"][0]["cases"] if c["id"] == "pirate-bay-trial-sweden")
    assert trial["title"] == trial_record["de"]["title"] != trial_record["title"]
    assert answer["matches"][0]["entity"]["description"] == bay["de"]["description"]
    assert answer["verdict"]["reasons"][0].startswith("thepiratebay.org gehört zu The Pirate Bay, im Verfahren „")
    assert answer["verdict"]["explanations"][1]["code"] == "also_mentioned"
    assert answer["matches"][0]["cases"][-1]["role"] == "mentioned"


LABELS = st.text(st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789-_") + list("üßéяж中日")), min_size=1,
                 max_size=12)
TAILS = st.sampled_from(["com", "co.uk", "github.io", "onion", "example.com", "local", "ck", "kawasaki.jp", "nz",
                         "thepiratebay.org", "mega.nz", "org", "test", "arpa", "zz", "blogspot.com"])


@st.composite
def urls(draw):
    return "https://" + ".".join(draw(st.lists(LABELS, min_size=0, max_size=3)) + [draw(TAILS)]) + "/"


@settings(max_examples=1, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
@given(st.lists(urls(), min_size=300, max_size=300))
def test_generated_names(pair, texts):
    assert_parity(pair, browser_hosts(texts), langs=("en",))


# --- with a provider: the browser's connection against the server's DNS ------------------------------

@pytest.fixture(scope="module")
def dns_pair(tmp_path_factory):
    """The server with DNS that answers Cloudflare's address for every name asked (no nameservers: the
    browser cannot see them), beside local.js told that address by the browser's connection."""
    names = ["thepiratebay.org", "www.thepiratebay.org", "mega.nz", "riaa.com", "cloudflare.com", "plain-site.org",
             "www.plain-site.org", "cf-shop.com", "grooveshark.io", "mega.co.nz"]
    server = DnsTestServer(zones={name: {"A": [CLOUDFLARE_IP]} for name in names}).start()
    made = Pair(DATA_DIR, tmp_path_factory.mktemp("dns-index"), nameserver=server.nameserver)
    made.names = [name for name in names if name != "grooveshark.io" or name in listed_names(made.service.dataset)]
    yield made
    server.stop()


def test_a_provider_from_the_connection_reads_as_the_server_finding_it_by_dns(dns_pair):
    for lang in LANGS:
        theirs = dns_pair.server(dns_pair.names, lang, offline=False)
        ours = dns_pair.local(dns_pair.names, connection={"ip": CLOUDFLARE_IP, "headers": []}, lang=lang)
        found = [d for text, mine, server in zip(dns_pair.names, ours, theirs, strict=True)
                 for d in differences(text, mine, server, same_infrastructure=True)]
        assert not found, "\n".join(found[:10])
    plain = dns_pair.local(["plain-site.org"], connection={"ip": CLOUDFLARE_IP}, lang="de")[0]
    assert plain["verdict"]["level"] == "infrastructure" and plain["verdict"]["badge"]["text"] == "CF"
    assert [e["code"] for e in plain["verdict"]["explanations"]] == ["served_by", "provider_sued"]
    assert plain["verdict"]["reasons"][0].startswith("Ausgeliefert von Cloudflare: 104.16.5.5 liegt")
    assert plain["infrastructure"]["providers"][0]["serves"] is True


def test_headers_alone_identify_the_provider_and_a_connection_elsewhere_finds_none(pair):
    for headers in ([{"name": "CF-RAY", "value": "8f1"}], {"server": "cloudflare"}):
        answer = pair.local(["plain-site.org"], connection={"ip": "93.184.216.34", "headers": headers})[0]
        assert answer["verdict"]["level"] == "infrastructure"
        assert answer["infrastructure"]["providers"][0]["evidence"][0]["kind"] == "header"
    elsewhere = pair.local(["plain-site.org"], connection={"ip": "93.184.216.34", "headers": []})[0]
    assert elsewhere["verdict"]["level"] == "none" and elsewhere["infrastructure"]["providers"] == []


# --- the tests catch what they are for ----------------------------------------------------------------

def mutated_extension(tmp: Path, file: str, old: str, new: str) -> Path:
    copy = tmp / "extension"
    shutil.copytree(EXTENSION, copy, ignore=shutil.ignore_patterns("data", "_locales", "icons"))
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text, (file, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


@pytest.mark.parametrize(("file", "old", "new", "texts"), [
    ("local.js", '"alias"', '"registrable_domain"', ["thepiratebay.ac", "mega.co.nz"]),
    ("hostname.js", '"error.is_suffix"', '"error.no_suffix"', ["co.uk", "github.io"]),
    ("hostname.js", 'throw notPublic("error.single_label", { name: host })', 'throw notPublic("error.single_label", {})',
     ["intranet"]),
    ("local.js", "level = entity.level;", 'level = entity.level === "party" ? "target" : entity.level;', ["riaa.com"]),
])
def test_a_mutated_matcher_fails_the_parity(pair, tmp_path, file, old, new, texts):
    """An alias reported as registrable_domain, a changed refusal, a changed level: each is a difference."""
    assert not parity(pair, texts, langs=("en",))
    pair.extension = mutated_extension(tmp_path, file, old, new)
    try:
        assert parity(pair, texts, langs=("en",))
    finally:
        pair.extension = None


def test_the_extension_writes_no_verdict_of_its_own():
    """No sentence, role word, relation phrase or badge colour in the extension's JavaScript; the
    matcher (local.js and hostname.js, what issue 18 replaced) within its 400 lines. The catalogue
    renderer messages.js (shared with the popup) is new and replaces neither, so it is not counted."""
    english = catalogues()["en"]
    words = {text for key, text in english.items() if key.startswith(("role.", "relation_phrase.")) and len(text) > 6}
    words |= {"belongs to", "Served by", "is not in the list", "special-use", "a local address"}
    for path in EXTENSION.rglob("*.js"):
        if "lib" in path.parts:
            continue
        # the code without its comments: what it says, not what it explains
        code = re.sub(r"/\*.*?\*/|(?<![:\\])//[^\n]*", "", path.read_text(encoding="utf-8"), flags=re.S)
        for colour in BADGE_COLORS.values():
            assert colour.lower() not in code.lower(), f"{path.name} holds the badge colour {colour}"
        for phrase in words:
            assert phrase not in code, f"{path.name} holds {phrase!r}"
    lines = sum(len(path.read_text(encoding="utf-8").splitlines())
                for path in (EXTENSION / "local.js", EXTENSION / "hostname.js"))
    assert lines <= 400, lines


def test_locales_are_the_catalogue():
    """_locales/*/messages.json hold the catalogue's keys as generated (python -m caseflag.exports.locales), and
    every catalogue key is worded in every language."""
    assert write_locales(check=True) == [], "run python -m caseflag.exports.locales"
    english = set(catalogues()["en"])
    for lang, messages in catalogues().items():
        assert set(messages) == english, f"{lang}: {sorted(set(messages) ^ english)}"
        assert all(isinstance(text, str) for text in messages.values())


def test_validate_index_refuses_broken_indexes(pair):
    text = pair.index.read_text(encoding="utf-8")
    good = json.loads(text)

    def changed(**fields):
        return json.dumps({**good, **fields})

    bad_case = json.loads(text)
    bad_case["entities"][0]["entry"]["cases"] = [["no-such-case", "named", []]]
    bad_range = json.loads(text)
    bad_range["providers"][0]["ipv4"] = ["104.16.0.0/13", "not-a-network/8"]
    results = run_node({"validate": [text, text[: len(text) // 2], "[]", changed(format=1), changed(entities={}),
                                     changed(date="yesterday"), json.dumps(bad_case), json.dumps(bad_range),
                                     changed(messages={})]})
    assert results[0] == {"ok": True}
    messages = [result.get("thrown", "") for result in results[1:]]
    assert all(message.startswith("caseflag index: ") for message in messages), messages
    assert "not JSON" in messages[0] and "got array" in messages[1] and "format 1 is not 2" in messages[2]
    assert '"entities" should be array' in messages[3] and "YYYY-MM-DD" in messages[4]
    assert "no-such-case" in messages[5] and "not-a-network/8" in messages[6] and "messages.en" in messages[7]
