"""The verdict's levels and their precedence, the `related` level above all, on real data folders."""

import shutil
import tomllib

import pytest

from caseflag.data.dataset import RELATION_FIELDS, Dataset
from caseflag.core.domains import parse
from caseflag.data.lint import ENTITY_LINKS, lint
from caseflag.net.providers import Evidence
from caseflag.service.verdict import Infrastructure, build
from conftest import DATA_DIR

SKIPPED = Infrastructure(status="skipped", reason_code="offline")
CLOUDFLARE = Infrastructure(status="resolved", addresses=("104.16.5.5",), providers={
    "cloudflare": (Evidence("ip_range", "104.16.5.5", "104.16.0.0/13"),)})


def entity(entity_id: str, domain: str, **links: str) -> str:
    extra = "".join(f'{key} = "{value}"\n' for key, value in links.items())
    return (f'id = "{entity_id}"\nname = "{entity_id.title()}"\nkind = "website"\ndomains = ["{domain}"]\n'
            f'status = "active"\ndescription = "A made-up site for a test."\n{extra}last_reviewed = 2026-11-30\n')


@pytest.fixture
def data_copy(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def answer(dataset: Dataset, domain: str, infrastructure: Infrastructure = SKIPPED) -> dict:
    return build(dataset, domain, parse(domain), infrastructure)


def test_mega_is_related_to_megaupload_through_its_history():
    """mega.nz and its former mega.co.nz: MEGA is in no case, its predecessor Megaupload is."""
    dataset = Dataset.load(DATA_DIR)
    for domain in ("mega.nz", "mega.co.nz"):
        result = answer(dataset, domain)
        verdict = result["verdict"]
        assert verdict["level"] == "related"
        assert verdict["badge"] == {"text": "~", "color": "#78909c"}
        assert verdict["reasons"][0].startswith(
            f"{domain}{' (a former domain)' if domain == 'mega.co.nz' else ''} belongs to MEGA, "
            "the successor of Megaupload, the defendant in \"United States v. Kim Dotcom")
        assert [m["entity"]["id"] for m in result["matches"]] == ["mega"], "only the site's own entity"
        own = result["matches"][0]
        assert own["role"] is None and own["cases"] == []
        (megaupload,) = own["related"]
        assert megaupload["id"] == "megaupload" and megaupload["relation"] == "predecessor"
        assert megaupload["domains"] == ["megaupload.com"] and megaupload["role"] == "defendant"
        assert [case["id"] for case in megaupload["cases"]] == ["united-states-v-dotcom"]
        assert megaupload["cases"][0]["sources"], "related cases carry their sources"


def test_the_case_itself_still_wins_over_a_relation():
    """Megaupload is a defendant itself: target, with MEGA listed as its successor (no cases)."""
    dataset = Dataset.load(DATA_DIR)
    result = answer(dataset, "megaupload.com")
    assert result["verdict"]["level"] == "target"
    assert result["matches"][0]["related"][0]["relation"] == "successor"
    assert result["matches"][0]["related"][0]["cases"] == []
    assert answer(dataset, "mp3sparks.com")["verdict"]["level"] == "party"


def test_precedence_related_over_infrastructure_and_none_without_a_tie(data_copy):
    """A site operated by a defendant is related even behind Cloudflare; one tied to nobody in a
    case, or to nothing, stays none; a mirror names its original."""
    (data_copy / "entities" / "cf-shop.toml").write_text(
        entity("cf-shop", "cf-shop.com", operated_by="mediaservices"), encoding="utf-8")
    (data_copy / "entities" / "copy-bay.toml").write_text(
        entity("copy-bay", "copy-bay-example.com", mirror_of="the-pirate-bay"), encoding="utf-8")
    (data_copy / "entities" / "lonely.toml").write_text(
        entity("lonely", "lonely-example.com", operated_by="alone", successor_of="cf-shop"), encoding="utf-8")
    (data_copy / "entities" / "alone.toml").write_text(entity("alone", "alone-example.com"), encoding="utf-8")
    (data_copy / "entities" / "bare.toml").write_text(entity("bare", "bare-example.com"), encoding="utf-8")
    dataset = Dataset.load(data_copy)

    shop = answer(dataset, "cf-shop.com", CLOUDFLARE)
    assert shop["verdict"]["level"] == "related" and shop["verdict"]["badge"]["text"] == "~"
    assert shop["verdict"]["reasons"][0].startswith(
        "cf-shop.com belongs to Cf-Shop, operated by Mediaservices, the defendant in ")
    assert "Cf-Shop has a successor: Lonely." in shop["verdict"]["reasons"]
    assert [m["entity"]["id"] for m in shop["matches"]] == ["cf-shop", "cloudflare"]
    assert shop["matches"][0]["related"][0]["relation"] == "operator"
    operates = [r for r in answer(dataset, "allofmp3.com")["matches"][0]["related"] if r["id"] == "mediaservices"]
    assert operates[0]["role"] == "defendant"
    assert ("operates", "cf-shop") in [(rel, other["id"]) for rel, other in dataset.related("mediaservices")]

    mirror = answer(dataset, "copy-bay-example.com")
    assert mirror["verdict"]["level"] == "related"
    assert "belongs to Copy-Bay, a mirror of The Pirate Bay, the subject in" in mirror["verdict"]["reasons"][0]
    assert ("mirror", "copy-bay") in [(rel, other["id"]) for rel, other in dataset.related("the-pirate-bay")]

    # one hop only: lonely's predecessor cf-shop is itself in no case
    assert answer(dataset, "lonely-example.com")["verdict"]["level"] == "none"
    assert answer(dataset, "lonely-example.com", CLOUDFLARE)["verdict"]["level"] == "infrastructure"
    alone = answer(dataset, "alone-example.com")
    assert alone["verdict"]["level"] == "none"
    assert "Alone operates Lonely." in alone["verdict"]["reasons"]
    (lonely,) = alone["matches"][0]["related"]
    assert (lonely["relation"], lonely["role"], lonely["cases"]) == ("operates", None, [])
    bare = answer(dataset, "bare-example.com")
    assert bare["verdict"]["level"] == "none" and bare["matches"][0]["related"] == []
    assert bare["verdict"]["reasons"][0] == "bare-example.com belongs to Bare, which is listed but named in no case."


def test_relation_fields_are_linted(data_copy):
    """An unknown or self-naming mirror_of / operated_by is a problem with its line."""
    (data_copy / "entities" / "bad.toml").write_text(
        entity("bad", "bad-example.com", mirror_of="bad", operated_by="nobody-known"), encoding="utf-8")
    messages = [(p.line, p.message) for p in lint(data_copy) if p.path.name == "bad.toml"]
    assert (7, "mirror_of names the entity itself") in messages
    assert (8, "operated_by refers to unknown entity 'nobody-known'") in messages
    assert set(ENTITY_LINKS) == set(RELATION_FIELDS)


# --- reasons as data, German text, mentions, intermediaries, DNS-only providers ---------------------

NS_ONLY = Infrastructure(status="resolved", addresses=("52.1.2.3",), nameservers=("bob.ns.cloudflare.com",),
                         providers={"cloudflare": (Evidence("nameserver", "bob.ns.cloudflare.com",
                                                            "*.ns.cloudflare.com"),)})


def test_explanations_are_the_reasons_as_data_in_the_same_order():
    """Each reason is its explanation worded by the catalogue, in English by default and in German."""
    from caseflag.core.messages import render

    dataset = Dataset.load(DATA_DIR)
    for domain in ("thepiratebay.org", "mega.co.nz", "www.riaa.com", "plain-site.org"):
        for lang in (None, "de"):
            result = build(dataset, domain, parse(domain), CLOUDFLARE, lang=lang)
            verdict = result["verdict"]
            assert len(verdict["explanations"]) == len(verdict["reasons"])
            assert verdict["reasons"] == [render(e["code"], e["params"], lang) for e in verdict["explanations"]]
            assert result["language"] == (lang or "en")
    english = answer(dataset, "thepiratebay.org")["verdict"]
    german = build(dataset, "thepiratebay.org", parse("thepiratebay.org"), SKIPPED, lang="de")["verdict"]
    assert english["explanations"][0]["code"] == german["explanations"][0]["code"] == "belongs_to"
    assert german["reasons"][0].startswith("thepiratebay.org gehört zu The Pirate Bay, im Verfahren „")
    assert english["reasons"][0].startswith("thepiratebay.org belongs to The Pirate Bay, the subject in ")


def test_german_answers_carry_the_records_german_text(german_data):
    """lang=de: descriptions, case titles, summaries and outcomes from the records' [de] tables."""
    dataset = Dataset.load(german_data)
    assert not lint(german_data)
    bay = tomllib.loads((german_data / "entities" / "the-pirate-bay.toml").read_text(encoding="utf-8"))
    trial_record = tomllib.loads((german_data / "cases" / "pirate-bay-trial-sweden.toml").read_text(encoding="utf-8"))
    result = build(dataset, "thepiratebay.org", parse("thepiratebay.org"), SKIPPED, lang="de")
    (match,) = result["matches"]
    assert match["entity"]["description"] == bay["de"]["description"] != bay["description"]
    trial = next(case for case in match["cases"] if case["id"] == "pirate-bay-trial-sweden")
    for field in ("title", "summary", "outcome"):
        assert trial[field] == trial_record["de"][field] != trial_record[field]
    english = build(dataset, "thepiratebay.org", parse("thepiratebay.org"), SKIPPED)
    assert english["matches"][0]["entity"]["description"] == bay["description"]


def test_mentioned_is_never_a_party(german_data):
    """Only mentioned in reporting about a case: listed under the match as such, but no party or target."""
    dataset = Dataset.load(german_data)
    result = answer(dataset, "thepiratebay.org")
    (match,) = result["matches"]
    assert match["cases"][-1]["id"] == "bridal-makers-v-cloudflare" and match["cases"][-1]["role"] == "mentioned"
    assert result["verdict"]["level"] == "target", "still the subject of its own trial"
    codes = [e["code"] for e in result["verdict"]["explanations"]]
    assert codes[:2] == ["belongs_to", "also_mentioned"]
    assert result["verdict"]["reasons"][1].startswith("The Pirate Bay is also mentioned in reporting about ")
    boerse = dataset.entities["boerse"]
    roles = {inv.role for inv in dataset.involvements("boerse")}
    assert "mentioned" in roles
    if roles == {"mentioned"}:
        only = answer(dataset, boerse["domains"][0])
        assert only["verdict"]["level"] == "none"
        assert only["verdict"]["explanations"][0]["code"] == "listed_mentioned"


def test_an_intermediary_sued_over_its_customers_is_a_party_not_a_target():
    dataset = Dataset.load(DATA_DIR)
    result = answer(dataset, "cloudflare.com")
    assert result["verdict"]["level"] == "party" and result["verdict"]["badge"] == {"text": "i", "color": "#1565c0"}
    first = result["verdict"]["explanations"][0]
    assert first["code"] == "intermediary_sued" and first["params"]["entity"] == "Cloudflare"
    assert "sued over sites its customers ran" in result["verdict"]["reasons"][0]
    served = answer(dataset, "plain-site.org", CLOUDFLARE)
    assert served["verdict"]["level"] == "infrastructure"
    assert [e["code"] for e in served["verdict"]["explanations"]] == ["served_by", "provider_sued"]
    assert served["verdict"]["reasons"][1].startswith("Cloudflare was sued over sites its customers ran (")


def test_nameserver_evidence_alone_is_a_milder_finding():
    """DNS answered by Cloudflare: serves false, never 'served by', never the level infrastructure."""
    dataset = Dataset.load(DATA_DIR)
    for lang in (None, "de"):
        result = build(dataset, "plain-site.org", parse("plain-site.org"), NS_ONLY, lang=lang)
        assert result["verdict"]["level"] == "none" and result["verdict"]["badge"]["text"] == ""
        (provider,) = result["infrastructure"]["providers"]
        assert provider["serves"] is False
        assert [m["entity"]["id"] for m in result["matches"]] == [], "the provider's cases are not the site's"
        assert [e["code"] for e in result["verdict"]["explanations"]] == ["not_listed", "dns_answered_by"]
        assert not any("Served by" in r or "Ausgeliefert" in r for r in result["verdict"]["reasons"])
    assert answer(dataset, "plain-site.org", CLOUDFLARE)["infrastructure"]["providers"][0]["serves"] is True
