"""DNS lookups against the real test server: every outcome is data, within one budget."""

import asyncio
import re
import time

import dns.message
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseflag.core.errors import InvalidInput
from caseflag.net.dnssession import Query, UnusableAnswer
from caseflag.net.network import Resolver, _answer, _checked, parse_nameserver
from dnsserver import HOSTILE, HOSTILE_DOMAIN, HOSTILE_REASONS, closed_port


def records(resolver, host, registrable=None):
    return asyncio.run(resolver.host_records(host, registrable or host))


def test_a_aaaa_and_ns_are_asked_at_once(dns):
    """One check asks A and AAAA of the host and NS of its registrable domain."""
    result = records(Resolver([dns.nameserver], 1.0), "www.thepiratebay.org", "thepiratebay.org")
    assert result.addresses == ["104.21.16.1", "2606:4700:3030::6815:1001"]
    assert result.ns.records == ("bob.ns.cloudflare.com", "lola.ns.cloudflare.com")
    assert {(n, t) for n, t, _ in dns.queries} == {
        ("www.thepiratebay.org", "A"), ("www.thepiratebay.org", "AAAA"), ("thepiratebay.org", "NS")}


def test_cname_chain_is_followed_and_reported(dns):
    """A CNAME into another name yields the final addresses and the chain."""
    result = records(Resolver([dns.nameserver], 1.0), "www.cf-shop.com", "cf-shop.com")
    assert result.a.records == ("104.18.2.2",)
    assert result.cnames == ["www.cf-shop.com.cdn.cloudflare.net"]


@pytest.mark.parametrize(("host", "status"), [("megaupload.com", "nxdomain"), ("servfail.com", "servfail"),
                                              ("no-address.org", "nodata")])
def test_failures_are_statuses_not_exceptions(dns, host, status):
    """NXDOMAIN, SERVFAIL and NODATA come back as a status with a reason."""
    result = records(Resolver([dns.nameserver], 1.0), host)
    assert result.a.status == status
    assert result.a.reason


def test_a_silent_server_times_out_within_the_budget(dns):
    """A name that never answers costs the budget, not more."""
    started = time.monotonic()
    result = records(Resolver([dns.nameserver], 0.5), "slow.com")
    elapsed = time.monotonic() - started
    assert result.a.status == "timeout" and result.ns.status == "timeout"
    assert elapsed < 0.5 + 0.3


def test_truncated_udp_answers_fall_back_to_tcp(dns):
    """A large answer truncated over UDP is fetched again over TCP."""
    result = records(Resolver([dns.nameserver], 1.0), "tcp-only.org")
    assert len(result.a.records) == 40
    assert ("tcp-only.org", "A", "tcp") in dns.queries


def test_unreachable_server_is_reported(dns):
    """Nothing listening on the configured port: a failure status, quickly, no exception."""
    result = records(Resolver([f"127.0.0.1:{closed_port()}"], 0.5), "thepiratebay.org")
    assert result.a.status in {"error", "timeout", "servfail"}
    assert result.addresses == []


@pytest.mark.parametrize(("text", "parsed"), [("127.0.0.1:5353", ("127.0.0.1", 5353)), ("10.0.0.2", ("10.0.0.2", 53)),
                                              ("[::1]:53", ("::1", 53)), ("::1", ("::1", 53))])
def test_nameserver_setting_forms(text, parsed):
    assert parse_nameserver(text) == parsed


def test_bad_nameserver_port_is_a_clear_error():
    with pytest.raises(InvalidInput):
        parse_nameserver("127.0.0.1:dns")


def test_a_dead_nameserver_is_skipped_for_a_live_one(dns):
    """With several nameservers configured, one that cannot be reached does not cost the answer."""
    resolver = Resolver([f"127.0.0.1:{closed_port()}", dns.nameserver], 1.0)
    result = records(resolver, "thepiratebay.org")
    assert result.a.records == ("104.21.16.1",)


def test_one_session_carries_many_lookups_at_once(dns):
    """Hundreds of lookups in flight over the session's one socket each get their own answer."""
    resolver = Resolver([dns.nameserver], 2.0)
    names = ["thepiratebay.org", "cf-shop.com", "www.plain-site.org", "megaupload.com"] * 50

    async def run():
        async with resolver.session() as session:
            return await asyncio.gather(*(resolver.host_records(n, n, session) for n in names))

    results = asyncio.run(run())
    expected = {"thepiratebay.org": ("104.21.16.1",), "cf-shop.com": ("104.16.5.5",),
                "www.plain-site.org": ("93.184.216.34",), "megaupload.com": ()}
    assert [r.a.records for r in results] == [expected[n] for n in names]


# --- hostile DNS: garbage from a real server on loopback --------------------------------------



def test_every_hostile_mode_has_an_expected_reason():
    assert set(HOSTILE_REASONS) == set(HOSTILE.values())


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_answers_are_failures_with_a_reason_within_the_budget(dns, name):
    """Truncated, looping, misdirected, forged, huge or late answers: a failure saying what was wrong, in budget."""
    budget = 0.6
    started = time.monotonic()
    result = records(Resolver([dns.nameserver], budget), name, HOSTILE_DOMAIN)
    elapsed = time.monotonic() - started
    assert elapsed <= budget + 0.25, f"{elapsed:.2f} s"
    assert result.addresses == []
    for answer in (result.a, result.aaaa):
        assert answer.status in ("error", "timeout"), answer
        assert HOSTILE_REASONS[HOSTILE[name]] in answer.reason, answer.reason
        assert not re.search(r"\b\w*(Error|Exception)\b", answer.reason), "a reason names no Python class"


def test_a_normal_answer_still_comes_through_next_to_hostile_ones(dns):
    """Queries sharing the session's socket with hostile ones get their own answers."""
    resolver = Resolver([dns.nameserver], 1.0)
    names = sorted(HOSTILE) + ["thepiratebay.org", "www.plain-site.org"]

    async def run():
        async with resolver.session() as session:
            return await asyncio.gather(*(resolver.host_records(n, n, session) for n in names * 3))

    started = time.monotonic()
    results = asyncio.run(run())
    assert time.monotonic() - started <= 1.0 + 0.3
    by_name = dict(zip(names * 3, results))
    assert by_name["thepiratebay.org"].a.records == ("104.21.16.1",)
    assert by_name["www.plain-site.org"].a.records == ("93.184.216.34",)
    assert all(not by_name[name].addresses for name in HOSTILE)


def _response_wire(name: str, rdtype: str, qid: int) -> bytes:
    query = dns.message.make_query(name, rdtype)
    response = dns.message.make_response(query)
    response.id = qid
    response.answer.append(dns.rrset.from_text("www.cf-shop.com.", 300, "IN", "CNAME", "cdn.cf-shop.com."))
    value = "104.16.0.1" if rdtype == "A" else ("2606:4700::1" if rdtype == "AAAA" else "ns1.cf-shop.com.")
    response.answer.append(dns.rrset.from_text("cdn.cf-shop.com.", 60, "IN", rdtype, value))
    return response.to_wire()


def test_damaged_answers_are_read_or_refused_never_raised():
    """Any damage to an answer, through the fast reader and dnspython's: an answer or a reason, no exception."""
    from conftest import fuzzed

    @settings(max_examples=1500, deadline=None, database=None)
    @given(st.sampled_from(["A", "AAAA", "NS"]), st.lists(st.tuples(st.integers(0, 120), st.binary(min_size=1, max_size=3)),
                                                          max_size=4),
           st.one_of(st.none(), st.integers(2, 120)), st.binary(max_size=40))
    def each(rdtype, patches, cut, tail):
        fuzzed("dns_hostile_wire")
        query = Query("www.cf-shop.com", rdtype)
        query.id = 0x1234
        wire = bytearray(_response_wire("www.cf-shop.com", rdtype, 0x1234))
        for at, patch in patches:
            wire[at:at + len(patch)] = patch
        data = bytes(wire[:cut] if cut is not None else wire) + tail
        outcome = query.read(data)
        if outcome is None:
            assert query.problem
            outcome = UnusableAnswer(query.problem)
        answer = _checked(_answer(query.name, rdtype, outcome), query)
        assert answer.status in ("ok", "nxdomain", "nodata", "servfail", "refused", "error", "timeout")
        assert answer.ok or answer.reason

    each()


def test_query_ids_are_drawn_safely_from_many_threads():
    """The id pool is shared by every thread's event loop (the API's workers): each call gets as
    many ids as it asked for, and a forked child starts a pool of its own."""
    import threading

    from caseflag.net.dnssession import random_ids

    sizes, failures = [], []

    def draw():
        for _ in range(2000):
            ids = random_ids(3)
            if len(ids) != 3 or not all(0 <= i < 65536 for i in ids):
                failures.append(ids)
            sizes.append(len(ids))

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and len(sizes) == 16_000
    random_ids._forget()
    assert len(random_ids(5)) == 5


def test_the_common_path_starts_without_dnspythons_messages_or_resolver():
    """dnswire writes and reads the common exchange; dnspython's messages and resolver, a quarter
    of a batch run's start-up, are imported only when an answer or a setting needs them."""
    import subprocess
    import sys

    code = ("import sys, caseflag.commands.cli, caseflag.commands.batch, caseflag.service.lookup, caseflag.net.providers; "
            "print(sorted(m for m in ('dns.message', 'dns.resolver', 'dns.name') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
