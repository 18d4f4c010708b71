"""Every reason caseflag gives is a catalogue code worded in the answer's language, DNS failures included.

DNS answers come from the real test server (tests/dnsserver.py): SERVFAIL, silence, refusals, NXDOMAIN,
hostile wire, a closed port. Each failure kind is checked in English and in German: the same stable
reason_code both times, and no English sentence of the catalogue in the German words.
"""

import json
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from caseflag.core.messages import catalogues, render
from caseflag.service.answer import ReasonCode
from conftest import closed_port
from dnsserver import HOSTILE_DOMAIN

# name -> (status, reason_code, problem or None): what the test server's behaviour must be reported as.
FAILURES = {
    "servfail.com": ("unavailable", "servfail", None),
    "slow.com": ("unavailable", "timeout", None),
    "nowhere-at-all.org": ("nxdomain", "nxdomain", None),
    "no-address.org": ("resolved", "no_addresses", None),
    f"truncated.{HOSTILE_DOMAIN}": ("unavailable", "unusable", "malformed"),
    f"pointer-loop.{HOSTILE_DOMAIN}": ("unavailable", "unusable", "malformed"),
    f"other-question.{HOSTILE_DOMAIN}": ("unavailable", "unusable", "other_question"),
    f"other-id.{HOSTILE_DOMAIN}": ("unavailable", "timeout_strays", None),
    f"huge.{HOSTILE_DOMAIN}": ("unavailable", "unusable", "over_tcp"),
    f"cname-chain.{HOSTILE_DOMAIN}": ("unavailable", "bad_answer", None),
    f"late.{HOSTILE_DOMAIN}": ("unavailable", "timeout", None),
    f"tcp-garbage.{HOSTILE_DOMAIN}": ("unavailable", "unusable", "tcp_unusable"),
}
LANGS = ("en", "de")


def _literal_parts(template: str) -> list[str]:
    """The catalogue text's own words: the stretches between placeholders long enough to be a phrase."""
    return [part.strip(" .;:()") for part in re.split(r"\{[^}]*\}", template) if len(part.strip(" .;:()")) >= 12]


ENGLISH_PHRASES = sorted({part for key, text in catalogues()["en"].items()
                          if key.startswith(("reason.", "problem.", "infrastructure_")) for part in _literal_parts(text)})


def assert_no_english(text: str) -> None:
    found = [phrase for phrase in ENGLISH_PHRASES if phrase.lower() in text.lower()]
    assert not found, f"English words in a German reason: {found} in {text!r}"


def _check(client, name: str, lang: str) -> dict:
    response = client.get("/api/v1/check", query_string={"domain": name, "lang": lang})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _infrastructure_explanation(body: dict) -> tuple[dict, str]:
    verdict = body["verdict"]
    at = next(i for i, item in enumerate(verdict["explanations"]) if item["code"].startswith("infrastructure_"))
    return verdict["explanations"][at], verdict["reasons"][at]


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_a_dns_failure_is_worded_in_the_answers_language_with_a_stable_code(app_factory, dns, name):
    status, code, problem = FAILURES[name]
    client = app_factory(DNS_BUDGET=0.5, CACHE_SIZE=0).test_client()
    bodies = {lang: _check(client, name, lang) for lang in LANGS}
    for lang, body in bodies.items():
        infrastructure = body["infrastructure"]
        assert (infrastructure["status"], infrastructure["reason_code"]) == (status, code), infrastructure
        assert body["language"] == lang
        explanation, words = _infrastructure_explanation(body) if status != "resolved" else (None, None)
        if explanation is not None:
            assert explanation["code"] == "infrastructure_reason"
            assert explanation["params"]["reason_code"] == code
            assert explanation["params"].get("problem") == problem
            # The words are the catalogue's for that code and params, in this language.
            assert infrastructure["reason"] == render(f"reason.{code}", explanation["params"], lang)
            assert words.startswith("Infrastruktur " if lang == "de" else "Infrastructure ")
            assert words.endswith(infrastructure["reason"])
        assert not re.search(r"\b\w*(Error|Exception)\b", infrastructure["reason"]), "no Python class names"
    german, english = bodies["de"]["infrastructure"]["reason"], bodies["en"]["infrastructure"]["reason"]
    assert german and english and german != english
    assert_no_english(german)
    if status != "resolved":
        assert_no_english(_infrastructure_explanation(bodies["de"])[1])
    assert name.split(".")[0] in english or code in ("unreachable",)


def test_a_library_message_is_a_param_after_caseflags_own_sentence(app_factory, dns):
    """dnspython's words (a malformed answer) come after a German sentence that says whose words they are."""
    client = app_factory(DNS_BUDGET=0.5, CACHE_SIZE=0).test_client()
    german = _check(client, f"pointer-loop.{HOSTILE_DOMAIN}", "de")
    explanation, _ = _infrastructure_explanation(german)
    library = explanation["params"]["error"]
    assert "compression pointer" in library  # dnspython's own text, kept as it came
    reason = german["infrastructure"]["reason"]
    assert reason.startswith("Keine brauchbare Antwort für pointer-loop.") and reason.index(
        "Meldung der DNS-Bibliothek: ") < reason.index(library)


def test_unreachable_and_refused_servers_in_german(app_factory, dns):
    """Nothing listens on the port (the system's words a param), then a server that refuses every query."""
    down = app_factory(DNS_NAMESERVERS=[f"127.0.0.1:{closed_port()}"], DNS_BUDGET=0.5, CACHE_SIZE=0).test_client()
    for lang, sentence in (("de", "Der DNS-Server war nicht erreichbar (Meldung des Systems: "),
                           ("en", "The DNS server could not be reached (the system said: ")):
        infrastructure = _check(down, "thepiratebay.org", lang)["infrastructure"]
        assert infrastructure["reason_code"] == "unreachable" and infrastructure["reason"].startswith(sentence)
    dns.refuse_after = 0
    client = app_factory(DNS_BUDGET=0.5, CACHE_SIZE=0).test_client()
    reasons = {lang: _check(client, "plain-site.org", lang)["infrastructure"] for lang in LANGS}
    assert {r["reason_code"] for r in reasons.values()} == {"refused"}
    assert reasons["de"]["reason"] == "Der DNS-Server hat die Antwort für plain-site.org verweigert."
    assert reasons["en"]["reason"] == "The DNS server refused to answer for plain-site.org."


def test_the_guards_reasons_in_german(app_factory, dns):
    """The circuit breaker's refusal (after one failed lookup here) is worded in the answer's language."""
    client = app_factory(DNS_BUDGET=0.3, CACHE_SIZE=0, DNS_BREAKER_FAILURES=1, DNS_BREAKER_SECONDS=30).test_client()
    assert _check(client, "slow.com", "de")["infrastructure"]["reason_code"] == "timeout"
    english, german = (_check(client, "thepiratebay.org", lang) for lang in LANGS)
    assert german["infrastructure"]["reason_code"] == english["infrastructure"]["reason_code"] == "dns_paused"
    assert german["infrastructure"]["reason"].startswith("Nicht abgefragt: Die letzten 1 DNS-Abfragen")
    assert "lookups pause for up to 30 s" in english["infrastructure"]["reason"]
    assert_no_english(german["infrastructure"]["reason"])
    assert_no_english(_infrastructure_explanation(german)[1])


def test_an_asn_reason_in_german(app_factory, dns):
    client = app_factory(CACHE_SIZE=0).test_client()
    english, german = (_check(client, "garbled-asn.com", lang)["infrastructure"]["asns"][0] for lang in LANGS)
    assert german["status"] == english["status"] == "error"
    assert german["reason"] == "Die ASN-Antwort war nicht lesbar: 'garbage' ist keine Zeile der Form „ASN | Präfix | " \
                               "Land | Registry“."
    assert "could not be read" in english["reason"]


def test_the_cache_keeps_codes_and_params_not_words(app_factory, dns):
    """Asked in English, then answered from the cache in German: the German words, not the cached English."""
    client = app_factory(DNS_BUDGET=0.5).test_client()
    english = _check(client, "servfail.com", "en")
    german = _check(client, "servfail.com", "de")
    assert german["cached"] is True
    assert german["infrastructure"]["reason"] == "Der DNS-Server konnte für servfail.com keine Antwort geben " \
                                                 "(Antwortcode SERVFAIL)."
    assert english["infrastructure"]["reason"] == "The DNS server failed to answer for servfail.com " \
                                                  "(response code SERVFAIL)."


def test_the_cli_words_a_dns_failure_in_german(dns):
    caseflag = str(Path(sys.executable).with_name("caseflag"))
    env = {**os.environ, "CASEFLAG_DNS_NAMESERVERS": dns.nameserver, "CASEFLAG_DNS_BUDGET": "0.5"}
    done = subprocess.run([caseflag, "check", "servfail.com", "--lang", "de", "--json"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    infrastructure = json.loads(done.stdout)["infrastructure"]
    assert infrastructure["reason_code"] == "servfail" and infrastructure["reason"].startswith("Der DNS-Server")


def test_every_reason_code_is_in_the_catalogue_in_every_language():
    """The API's reason_code enum, the catalogue's reason.<code> keys and every language agree."""
    codes = set(typing.get_args(ReasonCode)) - {""}
    english = catalogues()["en"]
    worded = {key.split(".", 1)[1] for key in english if key.startswith("reason.")}
    assert codes == worded - {"asn_budget_spent", "asn_no_answer", "asn_unreadable"}  # those: asns[].reason
    for lang, messages in catalogues().items():
        for key in english:
            if key.startswith(("reason.", "problem.")) or key == "infrastructure_reason":
                assert messages.get(key), f"{lang}.json has no {key}"
                placeholders = sorted(re.findall(r"\{[^}]*\}", english[key]))
                assert sorted(re.findall(r"\{[^}]*\}", messages[key])) == placeholders, f"{lang}: {key}"
    for lang in LANGS:
        assert_no_english(render("reason.unusable", {"problem": "over_tcp", "tcp_problem": "too_large"}, "de"))
