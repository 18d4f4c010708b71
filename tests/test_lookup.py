"""The lookup service: cache lifetimes from DNS TTLs, failures kept briefly, ASN rules."""

import asyncio

import pytest

from caseflag.net.cache import TTLStore
from caseflag.data.dataset import DatasetStore
from caseflag.service.lookup import LookupService
from caseflag.net.network import Resolver
from conftest import DATA_DIR


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def service(dns, clock):
    return LookupService(DatasetStore(DATA_DIR), Resolver([dns.nameserver], 1.0), TTLStore(100, timer=clock),
                         min_ttl=30, max_ttl=200, failure_ttl=20)


def test_positive_answers_live_for_the_dns_ttl_capped(service, clock):
    """The test zones say TTL 300; the cap of 200 s wins."""
    assert service.check("thepiratebay.org")["cached"] is False
    clock.now += 199
    assert service.check("thepiratebay.org")["cached"] is True
    clock.now += 2
    assert service.check("thepiratebay.org")["cached"] is False


def test_failures_are_kept_for_a_shorter_time(service, clock):
    assert service.check("servfail.com")["infrastructure"]["status"] == "unavailable"
    clock.now += 9
    assert service.check("servfail.com")["cached"] is True
    clock.now += 2
    assert service.check("servfail.com")["cached"] is False


def test_nxdomain_is_kept_for_the_failure_ttl(service, clock):
    service.check("megaupload.com")
    clock.now += 19
    assert service.check("megaupload.com")["cached"] is True
    clock.now += 2
    assert service.check("megaupload.com")["cached"] is False


def test_reserved_addresses_never_get_an_asn_query(service, dns):
    """A site pointing at private addresses: no Team Cymru question is asked about them."""
    body = service.check("private-address.com")
    assert body["infrastructure"]["addresses"] == ["10.0.0.5", "fd00::5"]
    assert body["infrastructure"]["asns"] == []
    assert not any("cymru" in name for name, _, _ in dns.queries)


def test_public_ip_literal_is_checked_without_a_name_lookup(service, dns):
    body = service.check("104.16.5.5")
    assert body["registrable_domain"] is None
    assert body["infrastructure"]["providers"][0]["id"] == "cloudflare"
    assert body["verdict"]["level"] == "infrastructure"
    assert dns.queries == []


def test_many_checks_run_concurrently(service, dns):
    """A batch of names in one event loop: results in input order, errors in place."""
    names = ["thepiratebay.org", "nope..com", "cf-shop.com", "www.plain-site.org"]
    results = asyncio.run(service.check_many_async(names))
    assert [r["query"] for r in results] == names
    assert results[1]["error"]["code"] == "invalid_domain"
    assert [r["verdict"]["level"] for r in results if "verdict" in r] == ["target", "infrastructure", "none"]


def test_offline_check_asks_nothing(service, dns):
    body = service.check("www.thepiratebay.org", offline=True)
    assert body["infrastructure"]["status"] == "skipped"
    assert body["verdict"]["level"] == "target"
    assert dns.queries == []



def test_cached_answers_carry_their_own_query_and_time(service):
    """A cached answer is reused, but names the query it answers and when it was given."""
    first = service.check("thepiratebay.org")
    second = service.check("HTTPS://WWW.thepiratebay.org/page")
    third = service.check("thepiratebay.org/other")
    assert second["query"] == "HTTPS://WWW.thepiratebay.org/page" and third["query"] == "thepiratebay.org/other"
    assert second["hostname"] == "www.thepiratebay.org" and third["cached"] is True
    assert {k: v for k, v in third.items() if k not in ("query", "checked_at", "cached")} == \
           {k: v for k, v in first.items() if k not in ("query", "checked_at", "cached")}
    assert service.check("thepiratebay.org", lang="de")["cached"] is True


