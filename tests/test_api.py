"""The HTTP API through Flask's test client, with DNS answered by the real test server."""

import json
import time

import pytest

from conftest import BUDGET, TPB_ONION
from dnsserver import HOSTILE, HOSTILE_REASONS


def check(client, domain, **params):
    response = client.get("/api/v1/check", query_string={"domain": domain, **params})
    return response.status_code, response.get_json()


def entity_names(body):
    return [m["entity"]["name"] for m in body["matches"]]


def test_target_site_behind_cloudflare(client, dns):
    """www.thepiratebay.org: a target, with its cases, sources and Cloudflare evidence."""
    status, body = check(client, "HTTPS://WWW.ThePirateBay.org/x?utm=1")
    assert status == 200
    assert body["query"] == "HTTPS://WWW.ThePirateBay.org/x?utm=1"
    assert body["hostname"] == "www.thepiratebay.org"
    assert body["registrable_domain"] == "thepiratebay.org"
    assert body["verdict"]["level"] == "target"
    assert body["verdict"]["badge"] == {"text": "!", "color": "#c62828"}
    first = body["matches"][0]
    assert first["entity"]["name"] == "The Pirate Bay"
    assert first["matched_by"] == "registrable_domain"
    assert first["cases"], "a target has cases"
    sources = [s for case in first["cases"] for s in case["sources"]]
    assert sources and all({"publisher", "title", "date", "language"} <= set(s) for s in sources)
    infra = body["infrastructure"]
    assert infra["status"] == "resolved"
    assert "104.21.16.1" in infra["addresses"]
    cloudflare = next(p for p in infra["providers"] if p["id"] == "cloudflare")
    kinds = {e["kind"] for e in cloudflare["evidence"]}
    assert {"ip_range", "nameserver"} <= kinds
    assert {"kind": "ip_range", "value": "104.21.16.1", "detail": "104.16.0.0/13"} in cloudflare["evidence"]
    assert body["dataset_version"] and body["checked_at"] and body["cached"] is False


def test_second_check_is_cached(client, dns):
    """A repeated check is answered from the cache and asks DNS nothing."""
    check(client, "thepiratebay.org")
    asked = len(dns.queries)
    status, body = check(client, "thepiratebay.org")
    assert status == 200 and body["cached"] is True
    assert len(dns.queries) == asked


@pytest.mark.parametrize("domain", ["notthepiratebay.org", "thepiratebay.org.evil.com"])
def test_lookalikes_do_not_match(client, domain):
    """Only the listed domain and its subdomains match, not names that contain it."""
    status, body = check(client, domain)
    assert status == 200
    assert "The Pirate Bay" not in entity_names(body)


def test_subdomains_of_a_listed_domain_match(client):
    status, body = check(client, "a.b.c.thepiratebay.org")
    assert status == 200 and body["verdict"]["level"] == "target"
    assert body["matches"][0]["matched_by"] == "registrable_domain"


def test_infrastructure_level_for_unlisted_site_behind_cloudflare(client):
    """A site not in the list but served by Cloudflare, via a CNAME into cdn.cloudflare.net."""
    status, body = check(client, "www.cf-shop.com")
    assert status == 200
    assert body["verdict"]["level"] == "infrastructure"
    assert body["verdict"]["badge"]["text"] == "CF"
    evidence = body["infrastructure"]["providers"][0]["evidence"]
    assert {"kind": "cname", "value": "www.cf-shop.com.cdn.cloudflare.net", "detail": "*.cdn.cloudflare.net"} in evidence
    assert any(m["matched_by"] == "provider" and m["entity"]["id"] == "cloudflare" for m in body["matches"])


def test_asn_evidence_for_address_outside_published_ranges(client, dns):
    """1.1.1.1 is not in the proxy ranges; Team Cymru says AS13335, so it is Cloudflare."""
    status, body = check(client, "asn-only.com")
    assert status == 200
    provider = body["infrastructure"]["providers"][0]
    assert provider["id"] == "cloudflare"
    assert provider["evidence"] == [{"kind": "asn", "value": "AS13335",
                                     "detail": "1.1.1.1 is announced by AS13335 (1.1.1.0/24)"}]
    assert ("1.1.1.1.origin.asn.cymru.com", "TXT", "udp") in dns.queries


def test_plain_site_has_nothing_to_say(client, dns):
    """Not listed, not behind a listed provider: level none, with its ASN for the record."""
    status, body = check(client, "www.plain-site.org")
    assert status == 200
    assert body["verdict"]["level"] == "none"
    assert body["verdict"]["badge"]["text"] == ""
    assert body["matches"] == [] and body["infrastructure"]["providers"] == []
    assert body["infrastructure"]["asns"][0]["asn"] == 15133


def test_nxdomain_is_reported(client):
    status, body = check(client, "megaupload.com")
    assert status == 200
    assert body["infrastructure"]["status"] == "nxdomain"
    assert "Megaupload" in " ".join(entity_names(body))


def test_servfail_means_unavailable_with_a_reason(client):
    status, body = check(client, "servfail.com")
    assert status == 200
    assert body["infrastructure"]["status"] == "unavailable"
    assert "SERVFAIL" in body["infrastructure"]["reason"]


def test_timeout_answers_within_the_budget(client):
    """A name whose server never answers still gets a 200 within the budget."""
    started = time.monotonic()
    status, body = check(client, "slow.com")
    assert status == 200
    assert time.monotonic() - started < BUDGET + 0.5
    assert body["infrastructure"]["status"] == "unavailable"
    assert "time budget" in body["infrastructure"]["reason"]


def test_list_match_works_when_dns_is_down(offline_app):
    """With no reachable DNS the list match still answers, and says why infrastructure is unknown."""
    started = time.monotonic()
    response = offline_app.test_client().get("/api/v1/check?domain=www.thepiratebay.org")
    body = response.get_json()
    assert response.status_code == 200
    assert time.monotonic() - started < BUDGET + 0.5
    assert body["verdict"]["level"] == "target"
    assert body["infrastructure"]["status"] == "unavailable"
    assert body["infrastructure"]["reason"]
    assert any(case["sources"] for case in body["matches"][0]["cases"])


@pytest.mark.parametrize("domain", ["localhost", "printer.local", "co.uk", "10.1.2.3", "[::1]", "single"])
def test_refused_names_get_422_and_never_reach_dns(client, dns, domain):
    status, body = check(client, domain)
    assert status == 422
    assert body["error"]["code"] == "not_public" and body["error"]["message"]
    assert dns.queries == []


@pytest.mark.parametrize("domain", ["", "exa mple.com", "a..b.com", "x" * 300])
def test_malformed_names_get_400(client, dns, domain):
    status, body = check(client, domain)
    assert status == 400
    assert body["error"]["code"] == "invalid_domain"
    assert dns.queries == []


def test_missing_parameter_is_400(client):
    response = client.get("/api/v1/check")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "domain"


def test_batch_keeps_input_order_and_inline_errors(client):
    response = client.post("/api/v1/check", json={"domains": ["thepiratebay.org", "localhost", "www.plain-site.org"]})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["query"] for r in results] == ["thepiratebay.org", "localhost", "www.plain-site.org"]
    assert results[0]["verdict"]["level"] == "target"
    assert results[1]["error"]["code"] == "not_public"
    assert results[2]["verdict"]["level"] == "none"


@pytest.mark.parametrize("body", [None, {"domains": "thepiratebay.org"}, {"domains": [1, 2]}, {"other": []}])
def test_batch_rejects_malformed_bodies(client, body):
    response = client.post("/api/v1/check", data="not json" if body is None else None, json=body)
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_batch_over_the_limit_is_413(app_factory):
    client = app_factory(MAX_BATCH=5).test_client()
    response = client.post("/api/v1/check", json={"domains": ["a.com"] * 6})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_oversized_body_is_413(app_factory):
    client = app_factory(MAX_BODY_BYTES=1000).test_client()
    response = client.post("/api/v1/check", data="x" * 5000, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_unknown_route_and_wrong_method_are_json(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/v1/check")
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"


def test_entities_cases_and_providers(client):
    entities = client.get("/api/v1/entities").get_json()
    assert entities["count"] == len(entities["entities"]) > 10
    everything = client.get("/api/v1/entities", query_string={"limit": entities["total"]}).get_json()
    pirate_bay = next(e for e in everything["entities"] if e["name"] == "The Pirate Bay")
    one = client.get(f"/api/v1/entities/{pirate_bay['id']}").get_json()
    assert "thepiratebay.org" in one["domains"] and one["cases"]
    cases = client.get("/api/v1/cases").get_json()["cases"]
    case = client.get(f"/api/v1/cases/{cases[0]['id']}").get_json()
    assert case["parties"] and case["sources"]
    providers = client.get("/api/v1/providers").get_json()["providers"]
    assert providers[0]["asns"] == [13335]
    assert client.get("/api/v1/entities/no-such").status_code == 404
    assert client.get("/api/v1/cases/no-such").get_json()["error"]["code"] == "not_found"


def test_sources_in_the_requested_language_come_first(client):
    _, body = check(client, "thepiratebay.org", lang="de")
    for match in body["matches"]:
        for case in match["cases"]:
            languages = [s["language"][:2] for s in case["sources"]]
            assert languages == sorted(languages, key=lambda lang: lang != "de")


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["counts"]["entities"] > 10


def test_mega_answers_related_with_the_chain(client):
    """mega.nz: in no case itself, the successor of a defendant; the related entity carries its cases."""
    status, body = check(client, "www.mega.nz")
    assert status == 200
    assert body["verdict"]["level"] == "related"
    assert body["verdict"]["badge"] == {"text": "~", "color": "#78909c"}
    assert body["verdict"]["reasons"][0].startswith("mega.nz belongs to MEGA, the successor of Megaupload, the defendant")
    assert entity_names(body) == ["MEGA"]
    related = body["matches"][0]["related"][0]
    assert set(related) == {"id", "name", "relation", "domains", "role", "cases"}
    assert related["role"] == "defendant" and related["cases"][0]["sources"]


# --- special-use names and malformed URL parts ------------------------------------------------

@pytest.mark.parametrize("domain", ["shop.onion", "printer.home.arpa", "4.3.2.1.in-addr.arpa", "example.com",
                                    "www.example.net", "site.test", "box.internal", "thing.alt", "x.invalid",
                                    "printer.local", "localhost"])
def test_special_use_names_are_422_and_never_reach_dns(client, dns, domain):
    status, body = check(client, domain)
    assert status == 422 and body["error"]["code"] == "not_public", body
    assert body["error"]["message"]
    assert dns.queries == []


@pytest.mark.parametrize(("domain", "words"), [
    ("thepiratebay.org:99999", "out of range"), ("thepiratebay.org:0", "out of range"),
    ("thepiratebay.org:65536", "out of range"), ("thepiratebay.org:", "Nothing follows"),
    ("[2606:4700::1]x", "Unexpected text"), ("[thepiratebay.org]", "IPv6"), ("th%65piratebay.org", "percent"),
    ("http://evil.com\\@thepiratebay.org", "backslash"), ("thepiratebay.org:80abc", "not a number"),
])
def test_malformed_url_parts_are_400_invalid_domain(client, dns, domain, words):
    status, body = check(client, domain)
    assert status == 400 and body["error"]["code"] == "invalid_domain"
    assert words in body["error"]["message"]
    assert dns.queries == []


def test_listed_onion_name_matches_but_is_never_resolved(app_factory, dns, onion_data):
    """A listed .onion answers 200 with its match, infrastructure skipped with the reason; DNS is not asked."""
    client = app_factory(DATA_DIR=str(onion_data)).test_client()
    for _ in range(2):  # the second time too: nothing about it is cached as if DNS had answered
        status, body = check(client, f"http://{TPB_ONION}/torrent/1")
        assert status == 200, body
        assert body["verdict"]["level"] == "target" and "The Pirate Bay" in entity_names(body)
        assert body["infrastructure"]["status"] == "skipped"
        assert "never resolved in DNS" in body["infrastructure"]["reason"]
    status, body = check(client, "unlisted2345abcdefghijklmnopqrstuvwxyz234567abcdefghijkl.onion")
    assert status == 422 and body["error"]["code"] == "not_public" and "onion" in body["error"]["message"]
    batch = client.post("/api/v1/check", json={"domains": [TPB_ONION, "shop.onion", "home.arpa"]}).get_json()
    assert batch["results"][0]["infrastructure"]["status"] == "skipped"
    assert [r.get("status") for r in batch["results"][1:]] == [422, 422]
    assert dns.queries == []


# --- bounds on request bodies and parameters (each of these was a 500 or went unchecked) ----------

def post_raw(client, body: bytes, fmt="json"):
    response = client.post(f"/api/v1/check?format={fmt}", data=body, content_type="application/json")
    return response.status_code, response.get_json()


def test_deeply_nested_body_is_a_400_not_a_recursion_error(client):
    """100,000 nested arrays made the JSON decoder raise RecursionError (a 500)."""
    status, body = post_raw(client, b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and body["error"]["code"] == "invalid_input" and "deeper than 8" in body["error"]["message"]
    status, body = post_raw(client, b'{"domains": ' + b"[" * 9 + b'"a.com"' + b"]" * 9 + b"}")
    assert status == 400 and "deeper" in body["error"]["message"]


def test_brackets_inside_strings_do_not_count_as_nesting(client, dns):
    status, body = post_raw(client, b'{"domains": ["[[[[[[[[[[[[[[[[[[[[thepiratebay.org", "thepiratebay.org"]}')
    assert status == 200
    assert body["results"][0]["error"]["code"] == "invalid_domain" and body["results"][1]["verdict"]


def test_too_many_keys_is_a_413(client):
    status, body = post_raw(client, json.dumps({"domains": ["a.com"], **{f"k{n}": n for n in range(64)}}).encode())
    assert status == 413 and body["error"]["code"] == "too_large" and "64 object keys" in body["error"]["message"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_lone_surrogate_in_a_body_is_a_400(client, fmt):
    """"\\ud800" is valid JSON syntax but not text: as CSV it was a UnicodeEncodeError (a 500)."""
    status, body = post_raw(client, b'{"domains": ["\\ud800.com"]}', fmt)
    assert status == 400 and "surrogate" in body["error"]["message"]
    status, body = post_raw(client, '{"domains": ["\\ud83d\\ude00.com"]}'.encode(), fmt)  # a pair is text
    assert status == 200


@pytest.mark.parametrize("body", [b"\xff\xfe\x00", b'{"domains": ["a.com"]', b"", b"NaN"])
def test_bodies_that_are_not_json_are_400(client, body):
    status, answer = post_raw(client, body)
    assert status == 400 and answer["error"]["message"]


@pytest.mark.parametrize("lang", ["x" * 36, "de_DE", "de\n", "<script>", "de-" + "a" * 9])
def test_lang_must_be_a_short_language_tag(client, lang):
    for path, params in (("/api/v1/check", {"domain": "thepiratebay.org"}), ("/api/v1/entities/the-pirate-bay", {}),
                         ("/api/v1/cases/pirate-bay-trial-sweden", {})):
        response = client.get(path, query_string={**params, "lang": lang})
        assert response.status_code == 400, path
        assert response.get_json()["error"] == {"code": "invalid_input", "field": "lang",
                                                "message": response.get_json()["error"]["message"]}
    assert client.get("/api/v1/entities/the-pirate-bay?lang=pt-BR").status_code == 200


# --- hostile DNS: every check still answers, in budget, saying what was wrong -------------------

@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_dns_answers_200_unavailable_within_the_budget(app_factory, dns, name):
    budget = 0.5
    client = app_factory(DNS_BUDGET=budget, CACHE_SIZE=0).test_client()
    started = time.monotonic()
    status, body = check(client, name)
    elapsed = time.monotonic() - started
    assert status == 200, body
    assert elapsed <= budget + 0.3, f"{elapsed:.2f} s for a {budget} s budget"
    infrastructure = body["infrastructure"]
    assert infrastructure["status"] == "unavailable" and infrastructure["addresses"] == []
    assert HOSTILE_REASONS[HOSTILE[name]] in infrastructure["reason"], infrastructure["reason"]


def test_a_garbled_asn_answer_is_an_asn_error_not_a_500(client, dns):
    """Team Cymru's TXT answer in an unexpected format made ipwhois raise ASNParseError, a 500."""
    status, body = check(client, "garbled-asn.com")
    assert status == 200, body
    assert body["infrastructure"]["status"] == "resolved"
    assert body["infrastructure"]["asns"][0]["status"] == "error"
    assert "could not be read" in body["infrastructure"]["asns"][0]["reason"]


def test_german_reasons_and_explanations(client):
    """lang=de: the reasons in German, the explanations the same data as in English, language says so."""
    german = client.get("/api/v1/check?domain=thepiratebay.org&lang=de").get_json()
    english = client.get("/api/v1/check?domain=thepiratebay.org").get_json()
    assert german["language"] == "de" and english["language"] == "en"
    assert german["verdict"]["reasons"][0].startswith("thepiratebay.org gehört zu The Pirate Bay")
    assert english["verdict"]["reasons"][0].startswith("thepiratebay.org belongs to The Pirate Bay")
    assert [e["code"] for e in german["verdict"]["explanations"]] == [e["code"] for e in english["verdict"]["explanations"]]
    refused = client.get("/api/v1/check?domain=shop.example.com&lang=de").get_json()["error"]
    assert refused["code"] == "not_public" and "für Beispiele, Dokumentation und Tests reserviert" in refused["message"]
    assert refused["explanation"] == {"code": "error.special_use", "params": {
        "name": "shop.example.com", "suffix": "example.com", "kind": "reserved"}}


def test_openapi_describes_explanations(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "explanations" in schemas["Verdict"]["properties"]
    assert set(schemas["Explanation"]["properties"]) == {"code", "params"}
    assert "belongs_to" in schemas["Explanation"]["properties"]["code"]["enum"]


# --- issue 22: filters, pages, unknown parameters, operationIds ------------------------------

def test_case_and_entity_lists_filter_and_page(client):
    everything = client.get("/api/v1/cases").get_json()
    swedish = client.get("/api/v1/cases", query_string={"jurisdiction": "se"}).get_json()
    assert swedish["total"] == len(swedish["cases"]) > 0
    assert {case["jurisdiction"] for case in swedish["cases"]} == {"SE"} and swedish["total"] < everything["total"]
    criminal = client.get("/api/v1/cases", query_string={"type": "criminal"}).get_json()
    assert criminal["cases"] and {case["type"] for case in criminal["cases"]} == {"criminal"}
    year = client.get("/api/v1/cases", query_string={"year": "2012"}).get_json()
    assert year["cases"] and all(any(str(v).startswith("2012") for v in case["dates"].values()) for case in year["cases"])
    first = client.get("/api/v1/cases", query_string={"limit": 2}).get_json()
    assert first["count"] == 2 and first["total"] == everything["total"] and first["next"].endswith("limit=2&offset=2")
    second = client.get(first["next"]).get_json()
    assert [c["id"] for c in first["cases"] + second["cases"]] == [c["id"] for c in everything["cases"][:4]]
    people = client.get("/api/v1/entities", query_string={"type": "person", "limit": 1000}).get_json()
    assert people["entities"] and {entity["kind"] for entity in people["entities"]} == {"person"}
    assert client.get("/api/v1/entities", query_string={"status": "no-such-status"}).get_json()["total"] == 0


@pytest.mark.parametrize("path, query", [
    ("/api/v1/cases", {"jurisdicton": "SE"}), ("/api/v1/entities", {"sort": "name"}),
    ("/api/v1/check", {"domain": "a.com", "x": "1"}), ("/api/v1/cases", {"limit": "0"}),
    ("/api/v1/cases", {"year": "12"}), ("/api/v1/providers", {"limit": "2"}),
])
def test_unknown_or_bad_parameters_are_a_400_naming_them(client, path, query):
    response = client.get(path, query_string=query)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input" and error["field"] in query


def test_every_operation_has_an_operation_id(client):
    document = client.get("/api/v1/openapi.json").get_json()
    ids = [operation["operationId"] for path in document["paths"].values() for operation in path.values()]
    assert len(ids) == len(set(ids)) >= 11 and "listCases" in ids and "checkMany" in ids
