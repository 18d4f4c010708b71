"""TTL store: per-entry lifetimes, bounded size, and off when size is 0."""

from caseflag.net.cache import TTLStore


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_entries_expire_after_their_own_ttl():
    clock = Clock()
    store = TTLStore(10, timer=clock)
    store.set("long", "a", 300)
    store.set("short", "b", 30)
    clock.now = 31
    assert store.get("short") is None
    assert store.get("long") == "a"
    clock.now = 301
    assert store.get("long") is None


def test_size_is_bounded():
    store = TTLStore(3)
    for n in range(10):
        store.set(str(n), n, 60)
    assert len(store) == 3


def test_size_zero_disables_the_cache():
    store = TTLStore(0)
    store.set("k", "v", 60)
    assert store.get("k") is None and len(store) == 0


# --- the lifetimes the service gives answers, from the CASEFLAG_CACHE_* settings ----------------

import pytest  # noqa: E402

from caseflag.core import config as config_module  # noqa: E402
from caseflag.service.lookup import create_service  # noqa: E402
from conftest import DATA_DIR  # noqa: E402
from dnsserver import TTL  # noqa: E402


def _service(dns, clock, **settings):
    """The service as the app builds it from settings, its cache on a clock the test moves."""
    config = config_module.resolve({"DATA_DIR": str(DATA_DIR), "DNS_NAMESERVERS": [dns.nameserver],
                                    "DNS_BUDGET": 1.0, "RELOAD_INTERVAL": 0, **settings})
    service = create_service(config)
    service.cache = TTLStore(100, timer=clock)
    return service


def _lifetime(service, clock, name, longest):
    """The first whole second after which an answer for `name` is no longer cached (its lifetime),
    probed second by second up to `longest`."""
    assert service.check(name)["cached"] is False
    start = clock.now
    for second in range(1, longest + 2):
        clock.now = start + second
        if service.check(name)["cached"] is False:
            return second
    return None


@pytest.mark.parametrize("floor", [TTL + 100, TTL + 300])
def test_a_dns_ttl_below_the_minimum_is_raised_to_it(dns, floor):
    """The test zones answer with TTL 300; CACHE_MIN_TTL above it is what the answer lives."""
    clock = Clock()
    service = _service(dns, clock, CACHE_MIN_TTL=floor, CACHE_MAX_TTL=3600)
    assert _lifetime(service, clock, "thepiratebay.org", floor + 5) == floor


def test_a_dns_ttl_between_the_bounds_is_kept(dns):
    clock = Clock()
    service = _service(dns, clock, CACHE_MIN_TTL=30, CACHE_MAX_TTL=3600)
    assert _lifetime(service, clock, "thepiratebay.org", TTL + 5) == TTL


def test_a_failed_lookup_lives_the_failure_ttl(dns):
    """NXDOMAIN lives CACHE_FAILURE_TTL; an unavailable answer (SERVFAIL) at most 10 s of it."""
    clock = Clock()
    service = _service(dns, clock, CACHE_FAILURE_TTL=45)
    assert _lifetime(service, clock, "megaupload.com", 60) == 45
    assert _lifetime(service, clock, "servfail.com", 60) == 10
    shorter = _service(dns, clock, CACHE_FAILURE_TTL=4)
    assert _lifetime(shorter, clock, "servfail.com", 60) == 4
