"""Bounds on waiting for DNS (dnsguard.py): the bulkhead, the circuit breaker, a request's deadline."""

import json
import threading
import time

import pytest

from caseflag.service.dnsguard import PATIENCE
from dnsserver import DnsTestServer


@pytest.fixture
def own_dns():
    server = DnsTestServer().start()
    yield server
    server.stop()


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.02)


def _timed(client, path):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_failing_lookups_open_the_circuit_and_later_checks_fail_fast(app_factory, own_dns):
    """Three lookups in a row time out; the next uncached check is answered at once, unavailable with
    the reason, /healthz says degraded; once DNS answers again a probe closes the circuit."""
    client = app_factory(DNS_NAMESERVERS=[own_dns.nameserver], CACHE_SIZE=0, DNS_BREAKER_FAILURES=3,
                         DNS_BREAKER_SECONDS=1.0).test_client()
    own_dns.delay = 5.0  # the resolver is there but never answers in time
    for name in ("a.unlisted-site.net", "b.unlisted-site.net", "c.unlisted-site.net"):
        assert client.get(f"/api/v1/check?domain={name}").get_json()["infrastructure"]["status"] == "unavailable"
    response, took = _timed(client, "/api/v1/check?domain=thepiratebay.org")
    body = response.get_json()
    assert response.status_code == 200 and took < 0.3
    assert body["verdict"]["level"] == "target"  # the list still answers
    assert body["infrastructure"]["status"] == "unavailable" and "lookups pause" in body["infrastructure"]["reason"]
    assert "unlisted-site" not in body["infrastructure"]["reason"]  # no other client's name in this answer
    health = client.get("/healthz").get_json()
    assert "unlisted-site" not in json.dumps(health)
    assert health["status"] == "degraded" and health["dns"]["guard"]["circuit"] == "open"
    assert any("lookups pause" in problem for problem in health["problems"])
    own_dns.delay = 0.0
    _wait_for(lambda: client.get("/healthz").get_json()["dns"]["guard"]["circuit"] == "half_open")
    assert client.get("/api/v1/check?domain=thepiratebay.org").get_json()["infrastructure"]["status"] == "resolved"
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["problems"] == [] and health["dns"]["guard"]["circuit"] == "closed"


def test_a_failing_probe_keeps_the_circuit_open(app_factory, own_dns):
    client = app_factory(DNS_NAMESERVERS=[own_dns.nameserver], CACHE_SIZE=0, DNS_BREAKER_FAILURES=1,
                         DNS_BREAKER_SECONDS=0.5).test_client()
    own_dns.delay = 5.0
    client.get("/api/v1/check?domain=a.unlisted-site.net")
    _wait_for(lambda: client.get("/healthz").get_json()["dns"]["guard"]["circuit"] == "half_open")
    probe = client.get("/api/v1/check?domain=b.unlisted-site.net").get_json()
    assert "lookups pause" not in probe["infrastructure"]["reason"]  # the probe asked DNS
    response, took = _timed(client, "/api/v1/check?domain=c.unlisted-site.net")
    assert "lookups pause" in response.get_json()["infrastructure"]["reason"] and took < 0.3


def test_a_bulk_check_answers_within_the_request_deadline(app_factory, own_dns):
    """300 new names against a resolver that never answers: one answer within the deadline, every
    name unavailable (answered by DNS's budget, the deadline, or refused once it passed)."""
    client = app_factory(DNS_NAMESERVERS=[own_dns.nameserver], CACHE_SIZE=0, REQUEST_DEADLINE=1.5,
                         DNS_BREAKER_FAILURES=100_000, RATE_LIMIT="").test_client()
    own_dns.delay = 5.0
    names = [f"n{number}.unlisted-site.net" for number in range(300)]
    started = time.monotonic()
    response = client.post("/api/v1/check", json={"domains": names})
    took = time.monotonic() - started
    results = response.get_json()["results"]
    assert response.status_code == 200 and took < 1.5 + 0.5, f"{took:.2f} s"
    assert [result["infrastructure"]["status"] for result in results] == ["unavailable"] * 300
    assert any("deadline" in result["infrastructure"]["reason"] for result in results)


def test_the_bulkhead_answers_at_once_when_every_slot_waits(app_factory, own_dns):
    """Two slots, six concurrent uncached checks against a silent resolver: two wait for DNS, four are
    answered once the two have waited PATIENCE (DNS is slow, not the machine), with the reason; a
    cached answer is still served at once."""
    app = app_factory(DNS_NAMESERVERS=[own_dns.nameserver], DNS_SLOTS=2, DNS_BREAKER_FAILURES=100_000,
                      RATE_LIMIT="")
    client = app.test_client()
    assert client.get("/api/v1/check?domain=thepiratebay.org").get_json()["cached"] is False
    own_dns.delay = 5.0
    entered = threading.Barrier(7)
    outcomes = []

    def check(number):
        entered.wait()
        response, took = _timed(app.test_client(), f"/api/v1/check?domain=w{number}.unlisted-site.net")
        outcomes.append((took, response.get_json()["infrastructure"]["reason"]))

    threads = [threading.Thread(target=check, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    entered.wait()
    _wait_for(lambda: client.get("/healthz").get_json()["dns"]["guard"]["waiting"] == 2)
    response, took = _timed(client, "/api/v1/check?domain=thepiratebay.org")
    assert response.get_json()["cached"] is True and took < 0.3
    for thread in threads:
        thread.join(timeout=10)
    fast = [reason for took, reason in outcomes if took < PATIENCE + 0.25]
    assert len(outcomes) == 6 and len(fast) == 4, outcomes
    assert all("lookups were already waiting on DNS" in reason for reason in fast)


def test_a_quiet_service_opens_the_circuit_after_a_few_failures_over_seconds():
    """Few checks a second never make 20 failures in a row quickly: 3 with no success between,
    spanning 4 s, also open it; a success between them starts the count again."""
    import asyncio

    from caseflag.service.dnsguard import QUIET_FAILURES, QUIET_SECONDS, DnsGuard
    from caseflag.service.verdict import Infrastructure

    now = [0.0]
    guard = DnsGuard(failures=100, pause=5.0, timer=lambda: now[0])

    async def lookup(status):
        return Infrastructure(status), 10.0

    def check(status="unavailable"):
        now[0] += QUIET_SECONDS / QUIET_FAILURES
        return asyncio.run(guard(lookup(status)))[0]

    for _ in range(QUIET_FAILURES):
        check()
    assert guard.state()["circuit"] == "closed"  # 3 failures, but within less than 4 s
    check("resolved")  # a success: the count starts again
    for _ in range(QUIET_FAILURES):
        check()
    assert guard.state()["circuit"] == "closed"
    check()  # the fourth in a row: the first was 4 s before it
    assert guard.state()["circuit"] == "open"
    assert check("resolved").reason_code == "dns_paused"  # not asked: answered at once (reason.dns_paused)
