"""extension/local.js, run by node, answers as the server does with DNS off (`check --offline`): the same
level, matched entities, registrable domain and error code for every input; plus its own parts
(the level `related`, special-use names, connection evidence, validateIndex)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import idna
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from caseflag import config
from caseflag.dataset import Dataset
from caseflag.extension_index import index_text
from caseflag.lookup import create_service

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
RUNNER = Path(__file__).with_name("local_runner.mjs")
NODE = shutil.which("node") or "/usr/bin/node"
ONION = "pirateb" + "a" * 49 + ".onion"  # a v3 onion name: 56 base32 characters

def run_node(payload: dict) -> list:
    done = subprocess.run([NODE, "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", str(RUNNER)],
                          input=json.dumps(payload), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


class Pair:
    """The server (offline) and local.js over one data folder, each given the same inputs."""

    def __init__(self, data_dir: Path, tmp: Path) -> None:
        self.service = create_service(config.resolve({"DATA_DIR": str(data_dir), "DNS_ENABLED": False,
                                                      "RELOAD_INTERVAL": 0}))
        self.index = tmp / "index.json"
        self.index.write_text(index_text(self.service.dataset), encoding="utf-8")

    def server(self, texts: list[str]) -> list[dict]:
        return self.service.check_many(texts, offline=True)

    def local(self, texts: list, connection: dict | None = None) -> list[dict]:
        queries = [{"text": text, **({"connection": connection} if connection else {})} for text in texts]
        return run_node({"index": str(self.index), "queries": queries})


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
        f'domains = ["{ONION}"]\nstatus = "active"\n'
        'description = "A test record: a site known by its onion name."\n'
        "last_reviewed = 2026-11-01\n", encoding="utf-8")
    return Pair(folder, tmp_path_factory.mktemp("onion-index"))


def _entity_toml(entity_id: str, name: str, kind: str, domains: list[str], **links: str) -> str:
    lines = [f'id = "{entity_id}"', f'name = "{name}"', f'kind = "{kind}"', f"domains = {json.dumps(domains)}",
             'status = "active"', f'description = "A test record: {name}."', "last_reviewed = 2026-11-01"]
    return "\n".join(lines + [f'{key} = "{value}"' for key, value in links.items()]) + "\n"


@pytest.fixture(scope="module")
def relations_pair(tmp_path_factory):
    """The bundled data plus sites named in no case that are mirrors of, and operated by, entities that
    are (and of, and by, ones that are not): every relation read both ways, the level related with more
    than one tied entity, and related lists sorted by cases, role, relation and name."""
    folder = tmp_path_factory.mktemp("relations-data")
    for kind in ("schema", "sources", "cases", "providers", "entities"):
        shutil.copytree(DATA_DIR / kind, folder / kind)
    records = {
        # a mirror of a defendant, run by a defendant: related, tied twice
        "bay-mirror": _entity_toml("bay-mirror", "Bay Mirror", "website", ["bay-mirror-test.org"],
                                   mirror_of="the-pirate-bay", operated_by="mediaservices"),
        # a mirror of the mirror, run by a company in no case: none, an original and an operator
        "mirror-mirror": _entity_toml("mirror-mirror", "mirror Mirror", "website", ["mirror-mirror-test.org"],
                                      mirror_of="bay-mirror", operated_by="quiet-operator"),
        "quiet-operator": _entity_toml("quiet-operator", "Quiet Operator", "company", ["quiet-operator-test.net"]),
        # run by a company in no case that also runs the mirror of the mirror; a successor of MEGA
        "alpha-site": _entity_toml("alpha-site", "alpha site", "website", ["alpha-site-test.net"],
                                   operated_by="quiet-operator", successor_of="mega"),
        # a mirror of a plaintiff (a party, not a target), run by the same defendant
        "riaa-mirror": _entity_toml("riaa-mirror", "RIAA Mirror", "website", ["riaa-mirror-test.org"],
                                    mirror_of="riaa", operated_by="mediaservices"),
    }
    for entity_id, text in records.items():
        (folder / "entities" / f"{entity_id}.toml").write_text(text, encoding="utf-8")
    return Pair(folder, tmp_path_factory.mktemp("relations-index"))


@pytest.fixture(scope="module")
def nested_pair(relations_pair, tmp_path_factory):
    """relations_pair's data with names listed below other names, which the linter refuses (a listed name
    must be a registrable domain) but an index from elsewhere may hold: the server's match then walks the
    host's parents, and so must local.js."""
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
    return pair


def summary(answer: dict) -> tuple:
    """What must agree: the error code and status, or level, entities, names and whether it is an IP."""
    if "error" in answer:
        return ("error", answer["error"]["code"], answer["status"])
    return (answer["verdict"]["level"], tuple(m["entity"]["id"] for m in answer["matches"]),
            answer["registrable_domain"], answer["hostname"], answer["is_ip"])


def assert_parity(pair: Pair, texts: list[str]) -> None:
    server, local = pair.server(texts), pair.local(texts)
    assert len(server) == len(local) == len(texts)
    differences = []
    for text, ours, theirs in zip(texts, local, server):
        if summary(ours) != summary(theirs):
            differences.append(f"{text!r}: local {summary(ours)} server {summary(theirs)}")
        elif "error" in ours:
            assert ours == {"query": text, "error": {"code": ours["error"]["code"], "message": ours["error"]["message"]},
                            "status": ours["status"]}
        else:
            assert ours["source"] == "builtin" and ours["query"] == text
            assert ours["dataset_version"] == theirs["dataset_version"]
            assert ours["hostname_unicode"] == theirs["hostname_unicode"], text
    assert not differences, f"{len(differences)} of {len(texts)} differ:\n" + "\n".join(differences[:30])


def listed_names(dataset: Dataset) -> list[str]:
    names = []
    for entity in dataset.entities.values():
        names += entity.get("domains", []) + [alias["domain"] for alias in entity.get("aliases", [])]
    return sorted(names)


# --- parity ---------------------------------------------------------------------------------------

def test_every_listed_domain_and_alias(pair):
    names = listed_names(pair.service.dataset)
    assert len(names) > 20
    assert_parity(pair, names)


def assert_entries_read_as_the_servers(pair: Pair, texts: list[str]) -> None:
    """The same reasons (but the last, which says why the infrastructure is not known), badge and match
    entries: cases, sources and the related entities in the server's order, with their roles and cases."""

    def cases(items: list[dict]) -> list[dict]:
        return [{k: v for k, v in case.items() if k not in ("dates", "summary", "outcome")} for case in items]

    for text, ours, theirs in zip(texts, pair.local(texts), pair.server(texts), strict=True):
        assert ours["verdict"]["level"] == theirs["verdict"]["level"], text
        assert ours["verdict"]["reasons"][:-1] == theirs["verdict"]["reasons"][:-1], text
        assert ours["verdict"]["badge"] == theirs["verdict"]["badge"], text
        assert len(ours["matches"]) == len(theirs["matches"]), text
        for mine, server in zip(ours["matches"], theirs["matches"]):
            assert mine["entity"] == server["entity"] and mine["role"] == server["role"], text
            assert mine.get("matched_domain") == server.get("matched_domain"), text
            assert mine.get("relation") == server.get("relation"), text
            assert cases(server["cases"]) == mine["cases"], text
            assert [{**r, "cases": cases(r["cases"])} for r in server["related"]] == mine["related"], text


def test_reasons_and_entries_read_as_the_servers(pair):
    """Beyond the level: every listed name and a subdomain read as the server's answers."""
    names = listed_names(pair.service.dataset)
    assert_entries_read_as_the_servers(pair, names + [f"www.{name}" for name in names] + ["plain-site.org", "1.1.1.1"])


def test_mirrors_and_operators_read_as_the_servers_both_ways(relations_pair):
    names = listed_names(relations_pair.service.dataset)
    assert_entries_read_as_the_servers(relations_pair, names + [f"www.{name}" for name in names])
    bay_mirror, mirror_mirror, pirate_bay, quiet = relations_pair.local(
        ["bay-mirror-test.org", "mirror-mirror-test.org", "thepiratebay.org", "quiet-operator-test.net"])
    assert bay_mirror["verdict"]["level"] == "related"
    assert [(r["id"], r["relation"]) for r in bay_mirror["matches"][0]["related"]] == [
        ("the-pirate-bay", "original"), ("mediaservices", "operator"), ("mirror-mirror", "mirror")]
    reasons = bay_mirror["verdict"]["reasons"]
    assert reasons[0].startswith("bay-mirror-test.org belongs to Bay Mirror, a mirror of The Pirate Bay, the ")
    assert reasons[1].startswith("Bay Mirror is also operated by Mediaservices, the defendant in ")
    assert reasons[2] == "Bay Mirror has a mirror: mirror Mirror."
    assert mirror_mirror["verdict"]["level"] == "none"
    assert mirror_mirror["verdict"]["reasons"][1:3] == [
        "mirror Mirror has an original: Bay Mirror.", "mirror Mirror has an operator: Quiet Operator."]
    assert "The Pirate Bay has a mirror: Bay Mirror." in pirate_bay["verdict"]["reasons"]
    assert quiet["verdict"]["reasons"][1:3] == ["Quiet Operator operates alpha site.",
                                                "Quiet Operator operates mirror Mirror."]
    relations = {r["relation"] for name in names for answer in relations_pair.local([name])
                 for m in answer["matches"] for r in m["related"]}
    assert relations == {"predecessor", "successor", "original", "mirror", "operator", "operates"}


def test_names_listed_below_other_names_walk_the_parents_as_the_server(nested_pair):
    nested = ["m.bay-mirror-test.org", "x.m.bay-mirror-test.org", "x.bay-mirror-test.org", "m.x.bay-mirror-test.org",
              "unlisted-parent-test.com", "b.unlisted-parent-test.com", "c.b.unlisted-parent-test.com",
              "a.b.unlisted-parent-test.com", "x.a.b.unlisted-parent-test.com", "www.unlisted-parent-test.com",
              "X.A.B.unlisted-parent-test.com", "bay-mirror-test.org."]
    assert_parity(nested_pair, nested)
    assert_entries_read_as_the_servers(nested_pair, nested)
    by_name = dict(zip(nested, nested_pair.local(nested)))
    assert [(m["entity"]["id"], m["matched_by"], m["matched_domain"])
            for m in by_name["x.m.bay-mirror-test.org"]["matches"]] == [("mirror-mirror", "hostname",
                                                                          "m.bay-mirror-test.org")]
    assert by_name["x.bay-mirror-test.org"]["matches"][0]["matched_by"] == "registrable_domain"
    assert by_name["x.a.b.unlisted-parent-test.com"]["matches"][0]["matched_domain"] == "a.b.unlisted-parent-test.com"
    assert by_name["c.b.unlisted-parent-test.com"]["matches"] == []


def test_variants_of_listed_names(pair):
    """Subdomains, case, trailing dot, URLs with port and path, userinfo, look-alikes."""
    texts = []
    for name in listed_names(pair.service.dataset):
        texts += [f"www.{name}", f"a.b.c.{name}", name.upper(), f"WWW.{name}.", f"https://{name}:8443/path?q=1#f",
                  f"http://user:pw@{name}/", f"//{name}/x", f"{name}:80", f"not{name}", f"{name}.example.com",
                  f"{name}.evil.com", f"x-{name}", name.replace(".", "-") + ".com", f"{name}..", f".{name}",
                  f"{name}:", f"{name}:port", f"{name}:١٢٣", f"{name}:²", f" {name}\u3000", f"\ufeff{name}"]
    assert_parity(pair, texts)


IDN = ["bücher.de", "BÜCHER.de", "xn--bcher-kva.de", "XN--BCHER-KVA.DE", "münchen.de", "例え.jp", "пример.рф",
       "ß.com", "straße.de", "ﬁ.com", "Ｅｘａｍｐｌｅ.com", "a。b.com", "a．b.com", "example.com。", "💩.la",
       "xn--ls8h.la", "ab--c.ü.com", "-a.ü.com", "a-.ü.com", "ü--x.com", "x_ü.com", "ü.123", "ü.0x1f", "xn--zz.com",
       "xn--com-.com", "xn--.com", "xn---bbk.com", "ü.xn---bbk.com", "ü.xn--zz.com", "thepiratеbay.org",
       "thepiratebay.org\u00ad", "mega\u200b.nz", "a\u00b7b.com", "l\u00b7l.cat", "ü%41.com", "ü@x.com",
       "ü.com:80", "https://bücher.de/x", "ü" * 64 + ".com", "\u0301a.com", "e\u0301.com", "日本。jp",
       "ｗｗｗ．ｍｅｇａ．ｎｚ", "MEGA.NZ", "thepiratebay.org\uff0e", "\u05d0\u05d1.com", "a\u200d.com",
       "123.עברית.com", "a1.עברית.com", "עברית1.com", "abc.שלום.co.il", "aעברית.com", "עברית-.com",
       "jgjf-ku١.com", "١٢.com", "ש١.com", "ش۱١.com"]

IPS = ["1.1.1.1", "104.16.0.1", "8.8.8.8", "10.0.0.1", "127.0.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0",
       "255.255.255.255", "192.0.0.9", "2606:4700::1", "[2606:4700::1]", "[::1]", "::1", "fe80::1", "fe80::1%eth0",
       "2606:4700::1%eth0", "2001:db8::1", "::ffff:8.8.8.8", "::ffff:10.0.0.1", "::ffff:100.64.0.1",
       "[2001:4860:4860::8888]:443", "http://[2606:4700:0:0:0:0:0:1]:8080/x", "2606:4700:0000:0000::0001",
       "1.2.3.04", "127.1", "0x7f.0.0.1", "2130706433", "1.2.3.4.5", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1:2::3",
       "1:2:3:4:5:6:7::", "::", "[::ffff:1.2.3.4]", "1.1.1.1:80", "[1.1.1.1]", "1.1.1.256", "2001:4860::1",
       "64:ff9b::808:808", "2002:808:808::1", "::8.8.8.8", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4",
       "12345::1", "[::1", "[::1]x", "[::1]:99999x", "g::1", "1.1.1.1.", "[2606:4700::1]:", "2606:4700::1%"]

SUFFIXES = ["co.uk", "com", "uk", "github.io", "x.github.io", "a.b.x.github.io", "kawasaki.jp", "foo.kawasaki.jp",
            "city.kawasaki.jp", "www.city.kawasaki.jp", "www.ck", "foo.ck", "a.foo.ck", "ck", "blogspot.com",
            "x.blogspot.com", "s3.amazonaws.com", "x.s3.amazonaws.com", "no-such-tld", "a.no-such-tld",
            "example.zzz", "xn--p1ai", "x.xn--p1ai", "test.рф", "appspot.com", "x.appspot.com", "a.b.c.d.e.co.uk"]

SPECIAL = ["localhost", "foo.localhost", "x.local", "x.test", "x.invalid", "x.example", "example.com",
           "www.example.org", "a.example.net", "x.internal", "x.alt", "home.arpa", "1.in-addr.arpa", "arpa",
           "x.onion", "www.x.onion", "onion", "thepiratebay.org.local", "example.com.evil.com", "xexample.com"]

ODD = ["", " ", "a b.com", "http://", "https:///x", "exa mple.com", "example..com", ".example.com", "-a.com",
       "a-.com", "a_b.com", "_dmarc.example.org", "é", "a" * 64 + ".com", ("a" * 60 + ".") * 5 + "com",
       "foo.com:abc", "foo.com:", "user@", "@", ":", "::::", "a:b:c", "http://a:b@c:d@mega.nz/", "mega.nz#x",
       "mega.nz?x", "mega.nz\\x", "mega.nz\t", "\x00mega.nz", "mega\x7f.nz", "x" * 2100, "ü" * 2049]


def _name_of_length(length: int, tail: str = "com") -> str:
    """A name of exactly length characters ending in .tail, in labels of at most 63."""
    body = length - len(tail) - 1
    labels = []
    while body > 0:
        size = min(63, body) if body - min(63, body) != 1 else 62  # never leave a lone dot
        labels.append("a" * size)
        body -= size + 1
    return ".".join(labels + [tail])


# On either side of local.js's fast path (lowercase letter-digit-hyphen labels, no A-label, no port,
# not ending in a digit or a dot, a public suffix, no special-use name) and of its label and name limits.
FAST_PATH_EDGES = [
    "a-.com", "-a.com", "a.-b.com", "a.b-.com", "a--b.com", "ab--c.com", "abc--d.com", "ab-c.com", "a-b-c.com",
    "xn--bcher-kva.de", "www.xn--bcher-kva.de", "xn--a.com", "xn--.com", "xn--p1ai", "a.xn--p1ai", "ab--.com",
    "XN--BCHER-KVA.DE", "Thepiratebay.org", "www.THEPIRATEBAY.org", "MEGA.NZ",
    "a" * 63 + ".com", "a" * 64 + ".com", "www." + "a" * 63 + ".co.uk", "www." + "a" * 64 + ".co.uk",
    "a" * 63 + "." + "b" * 63 + ".thepiratebay.org",
    _name_of_length(252), _name_of_length(253), _name_of_length(254), _name_of_length(253, "co.uk"),
    _name_of_length(254, "co.uk"), _name_of_length(253) + ".", _name_of_length(254) + ".",
    "a.123", "www.a.1", "a.b1", "1a.com", "123.com", "a.0", "1.2.3.4", "a.1.2.3.4", "thepiratebay.org1",
    "thepiratebay.org.", ".thepiratebay.org", "thepiratebay..org", "_a.thepiratebay.org", "a_b.thepiratebay.org",
    "thepiratebay.org:443", "thepiratebay.org/", "x.example.com", "a.b.example.org", "thepiratebay.org.local",
    "x.onion", "a.www.ck", "a.b.ck", "www.ck", "x.kawasaki.jp", "a.city.kawasaki.jp", "city.kawasaki.jp",
    "com", "co.uk", "github.io", "a.github.io", "a.b.github.io", "a.zzzz", "a.b.no-such-tld", "a.b", "a.c",
    "mega.nz", "www.mega.nz", "a.b.c.d.e.f.g.mega.nz", "megaupload.com", "a.megaupload.com",
]


def test_fast_path_edges(pair):
    assert_parity(pair, FAST_PATH_EDGES)


def test_the_fast_path_answers_as_the_full_parse(pair):
    """A normalised name (the fast path) and the same name upper-cased or with a trailing dot (the full
    parse) get the same answer, but for the query and the time."""
    names = listed_names(pair.service.dataset)
    plain = [name for name in names + [f"www.{n}" for n in names] + ["plain-site.org", "a.b.c.co.uk", "x.github.io"]
             if "xn--" not in name]
    texts = plain + [name.upper() for name in plain] + [name + "." for name in plain]
    answers = pair.local(texts)
    for position, name in enumerate(plain):
        fast, *slow = answers[position], answers[position + len(plain)], answers[position + 2 * len(plain)]
        for other in slow:
            assert {**other, "query": None, "checked_at": None} == {**fast, "query": None, "checked_at": None}, name


@pytest.mark.parametrize("group", ["IDN", "IPS", "SUFFIXES", "SPECIAL", "ODD"])
def test_chosen_inputs(pair, group):
    assert_parity(pair, globals()[group])


def test_unicode_and_punycode_forms_of_listed_names(pair):
    texts = []
    for name in listed_names(pair.service.dataset):
        texts.append(idna.decode(name) if "xn--" in name else name.replace("a", "а", 1))  # Cyrillic а: a look-alike
    texts += ["thepiratebay.org".replace("o", "ο"), "mеga.nz", "ｍｅｇａ．ｎｚ", "MEGA.nz.", "mega.nz\u3002"]
    assert_parity(pair, texts)


def test_onion_names_listed_and_unlisted(onion_pair):
    texts = [ONION, f"www.{ONION}", ONION.upper(), "b" * 56 + ".onion", f"http://{ONION}/x", "onion", "a.onion"]
    assert_parity(onion_pair, texts)
    listed, subdomain, upper, unlisted = onion_pair.local(texts[:4])
    assert [m["entity"]["id"] for m in listed["matches"]] == ["onion-bay"] and listed["verdict"]["level"] == "none"
    assert listed["infrastructure"]["status"] == "skipped"
    assert listed["infrastructure"]["reason_code"] == "never_resolved"
    assert "never resolved" in listed["infrastructure"]["reason"]
    assert subdomain["matches"][0]["matched_domain"] == ONION and upper["hostname"] == ONION
    assert unlisted["status"] == 422 and unlisted["error"]["code"] == "not_public"
    # connection evidence is not read for a name reached through Tor
    with_connection = onion_pair.local([ONION], connection={"ip": "104.16.0.1"})[0]
    assert with_connection["infrastructure"]["status"] == "skipped" and with_connection["verdict"]["level"] == "none"


ASCII_CHARS = st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789") * 3 + list("-_AZQ"))
LETTERS = st.sampled_from(list("abcdefghijklmnopqrstuvwxyz-") + list("üßéяжλ中日אש١"))
ODD_CHARS = st.sampled_from(list("abcz09-_.AZ") + list("üßéяж中日ﬁＡ。．💩\u0301\u00b7\u200d\u05d0"))
LABELS = st.one_of(st.text(ASCII_CHARS, min_size=1, max_size=12), st.text(ASCII_CHARS, min_size=1, max_size=12),
                   st.text(LETTERS, min_size=1, max_size=10), st.text(ODD_CHARS, min_size=1, max_size=6))
TAILS = st.sampled_from(["com", "co.uk", "github.io", "onion", "example.com", "local", "ck", "kawasaki.jp", "nz",
                         "org", "de", "рф", "xn--p1ai", "zz", "thepiratebay.org", "mega.nz", "co.nz", "arpa"])


@st.composite
def host_inputs(draw):
    labels = draw(st.lists(LABELS, min_size=0, max_size=3))
    name = ".".join([*labels, draw(TAILS)])
    if draw(st.booleans()):
        name = name.upper() if draw(st.booleans()) else name + "."
    prefix = draw(st.sampled_from(["", "", "http://", "https://user@", "//"]))
    suffix = draw(st.sampled_from(["", "", ":443", "/path?q", ":x", "#f"]))
    return prefix + name + suffix


@settings(max_examples=4, deadline=None, database=None, derandomize=True, phases=[Phase.generate, Phase.shrink],
          suppress_health_check=list(HealthCheck))
@given(texts=st.lists(host_inputs(), min_size=100, max_size=100))
def test_generated_names(pair, texts):
    """Names no list above holds, generated (seeded): a few hundred per run."""
    assert_parity(pair, texts)


@settings(max_examples=3, deadline=None, database=None, derandomize=True, phases=[Phase.generate, Phase.shrink],
          suppress_health_check=list(HealthCheck))
@given(texts=st.lists(st.text(min_size=1, max_size=30), min_size=100, max_size=100))
def test_generated_text(pair, texts):
    """Any text at all: refused with the server's code, or answered as it answers."""
    assert_parity(pair, texts)


def test_the_comparison_catches_a_difference(pair):
    """assert_parity can fail: a local answer with another level, entity or error code does not pass."""
    server = pair.server(["www.thepiratebay.org", "localhost"])
    local = pair.local(["www.thepiratebay.org", "localhost"])
    assert [summary(a) for a in local] == [summary(s) for s in server]
    wrong_level = {**local[0], "verdict": {**local[0]["verdict"], "level": "party"}}
    wrong_entity = {**local[0], "matches": local[0]["matches"][1:]}
    wrong_code = {**local[1], "error": {"code": "invalid_domain", "message": ""}}
    for answer, theirs in ((wrong_level, server[0]), (wrong_entity, server[0]), (wrong_code, server[1])):
        assert summary(answer) != summary(theirs)


# --- the level related (issue 12) --------------------------------------------------------------------

def test_related_level_for_an_entity_whose_predecessor_is_a_defendant(pair):
    answer = pair.local(["mega.nz"])[0]
    assert answer["verdict"]["level"] == "related"
    assert answer["verdict"]["badge"] == {"text": "~", "color": "#78909c"}
    assert answer["verdict"]["reasons"][0].startswith(
        'mega.nz belongs to MEGA, the successor of Megaupload, the defendant in "United States v.')
    assert [m["entity"]["id"] for m in answer["matches"]] == ["mega"]
    related = answer["matches"][0]["related"]
    assert [(r["id"], r["relation"], r["role"]) for r in related] == [("megaupload", "predecessor", "defendant")]
    assert related[0]["domains"] == ["megaupload.com"] and related[0]["cases"][0]["sources"]


def test_own_cases_outrank_related_ones_and_an_unlinked_listed_site_stays_none(pair):
    target, party = pair.local(["megaupload.com", "riaa.com"])
    assert target["verdict"]["level"] == "target" and party["verdict"]["level"] == "party"
    # megaupload's successor MEGA is in no case: linking to it does not raise anything
    assert [r["cases"] for r in target["matches"][0]["related"]] == [[]]


# --- connection evidence ---------------------------------------------------------------------------

def test_without_connection_the_infrastructure_is_skipped_and_says_why(pair):
    answer = pair.local(["plain-site.org"])[0]
    infrastructure = answer["infrastructure"]
    assert infrastructure["status"] == "skipped" and infrastructure["reason_code"] == "no_permission"
    assert "settings" in infrastructure["reason"] and infrastructure["providers"] == []
    assert answer["verdict"]["level"] == "none" and answer["matches"] == []


def test_an_address_in_cloudflares_range_gives_the_infrastructure_level(pair):
    v4, v6 = (pair.local(["plain-site.org"], connection={"ip": ip, "headers": []})[0]
              for ip in ("104.21.16.1", "2606:4700:3030::6815:1001"))
    for answer, ip, cidr in ((v4, "104.21.16.1", "104.16.0.0/13"), (v6, "2606:4700:3030::6815:1001", "2606:4700::/32")):
        assert answer["verdict"]["level"] == "infrastructure"
        assert answer["verdict"]["badge"] == {"text": "CF", "color": "#f9a825"}
        infrastructure = answer["infrastructure"]
        assert infrastructure["status"] == "resolved" and infrastructure["addresses"] == [ip]
        [provider] = infrastructure["providers"]
        assert provider["id"] == "cloudflare" and provider["short_label"] == "CF" and provider["entity_id"] == "cloudflare"
        assert provider["evidence"] == [{"kind": "ip_range", "value": ip, "detail": cidr}]
        assert [(m["entity"]["id"], m["matched_by"]) for m in answer["matches"]] == [("cloudflare", "provider")]
        assert answer["verdict"]["reasons"][0] == provider["summary"]


def test_headers_alone_identify_the_provider_in_either_form(pair):
    as_list = pair.local(["plain-site.org"], connection={"headers": [{"name": "Server", "value": "CloudFlare"},
                                                                     {"name": "CF-RAY", "value": "8a1b-FRA"}]})[0]
    as_object = pair.local(["plain-site.org"], connection={"headers": {"server": "cloudflare", "cf-ray": "8a1b-FRA"}})[0]
    for answer in (as_list, as_object):
        [provider] = answer["infrastructure"]["providers"]
        kinds = {(e["kind"], e["detail"]) for e in provider["evidence"]}
        assert kinds == {("header", "cf-ray"), ("header", "server: cloudflare")}
        assert answer["infrastructure"]["addresses"] == [] and answer["verdict"]["level"] == "infrastructure"
    assert {"kind": "header", "value": "server: cloudflare", "detail": "server: cloudflare"} in \
        as_object["infrastructure"]["providers"][0]["evidence"]


def test_a_connection_elsewhere_finds_no_provider(pair):
    answer = pair.local(["plain-site.org"], connection={"ip": "8.8.8.8", "headers": {"server": "nginx"}})[0]
    assert answer["infrastructure"]["status"] == "resolved" and answer["infrastructure"]["addresses"] == ["8.8.8.8"]
    assert answer["infrastructure"]["providers"] == [] and answer["verdict"]["level"] == "none"


def test_a_target_behind_cloudflare_stays_a_target_and_lists_both(pair):
    answer = pair.local(["www.thepiratebay.org"], connection={"ip": "104.21.16.1"})[0]
    assert answer["verdict"]["level"] == "target" and answer["verdict"]["badge"]["text"] == "!"
    assert [(m["entity"]["id"], m["matched_by"]) for m in answer["matches"]] == [
        ("the-pirate-bay", "registrable_domain"), ("cloudflare", "provider")]
    related = pair.local(["mega.nz"], connection={"ip": "104.21.16.1"})[0]
    assert related["verdict"]["level"] == "related"  # related outranks infrastructure


def test_the_answer_has_the_servers_shape(pair):
    """Every key the server's answer has, the local one has too, down to the match entries."""
    server = pair.server(["www.thepiratebay.org"])[0]
    local = pair.local(["www.thepiratebay.org"], connection={"ip": "104.21.16.1"})[0]
    server_with_cf = pair.service.check("www.thepiratebay.org", offline=True)
    assert set(server) <= set(local)
    assert set(server["infrastructure"]) <= set(local["infrastructure"])
    assert set(server["verdict"]) == set(local["verdict"])
    own_server, own_local = server_with_cf["matches"][0], local["matches"][0]
    assert set(own_server) <= set(own_local)
    assert set(own_server["cases"][0]) - {"dates", "summary", "outcome"} <= set(own_local["cases"][0])
    assert [c["id"] for c in own_server["cases"]] == [c["id"] for c in own_local["cases"]]
    assert [[s["id"] for s in c["sources"]] for c in own_server["cases"]] == \
        [[s["id"] for s in c["sources"]] for c in own_local["cases"]]
    assert own_server["aliases"] == own_local["aliases"]


def test_a_repeated_check_gives_the_same_answer_and_connection_info_is_not_reused(pair):
    queries = [{"text": "www.thepiratebay.org"}, {"text": "www.thepiratebay.org"},
               {"text": "www.thepiratebay.org", "connection": {"ip": "104.21.16.1"}}, {"text": "www.thepiratebay.org"},
               {"text": "localhost"}, {"text": "localhost"}]
    first, again, connected, after, refused, refused_again = run_node({"index": str(pair.index), "queries": queries})
    for answer in (again, after):
        assert {**answer, "checked_at": None} == {**first, "checked_at": None}
    assert connected["infrastructure"]["status"] == "resolved" and first["infrastructure"]["status"] == "skipped"
    assert refused == refused_again and refused["status"] == 422


# --- validateIndex --------------------------------------------------------------------------------

def test_validate_index_refuses_broken_indexes(pair):
    text = pair.index.read_text(encoding="utf-8")
    good = json.loads(text)

    def changed(**fields):
        return json.dumps({**good, **fields})

    missing = dict(good)
    del missing["public_suffixes"]
    bad_case = json.loads(text)
    bad_case["entities"][0]["cases"] = [["no-such-case", "named", []]]
    bad_range = json.loads(text)
    bad_range["providers"][0]["ipv4"] = ["104.16.0.0/13", "not-a-network/8"]
    results = run_node({"validate": [text, text[: len(text) // 2], "", "[]", changed(format=2),
                                     changed(format="1"), json.dumps(missing), changed(entities={}),
                                     changed(date="yesterday"), json.dumps(bad_case),
                                     changed(public_suffixes={"icann": [], "private": []}), json.dumps(bad_range)]})
    assert results[0] == {"ok": True}
    messages = [result.get("thrown", "") for result in results[1:]]
    assert all(message.startswith("caseflag index: ") for message in messages), messages
    assert "not JSON" in messages[0] and "not JSON" in messages[1]
    assert "expected a JSON object, got array" in messages[2]
    assert "format 2 is not the format this extension reads (1)" in messages[3]
    assert 'format "1"' in messages[4]
    assert '"public_suffixes" should be object, is undefined' in messages[5]
    assert '"entities" should be array, is object' in messages[6]
    assert "YYYY-MM-DD" in messages[7]
    assert "no-such-case" in messages[8]
    assert "icann" in messages[9]
    assert '"not-a-network/8" is not a network' in messages[10]
