"""Serving for real: rate limits, CORS, the Redis-shared cache, and faults in DNS and Redis."""

import shutil
import socket
import subprocess
import threading
import time

import pytest

from caseflag.cache import SharedCache, TTLStore
from conftest import BUDGET
from dnsserver import DnsTestServer

REDIS = shutil.which("redis-server")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A real redis-server on a free loopback port, no persistence."""

    def __init__(self):
        if REDIS is None:
            raise AssertionError("redis-server is missing: run `make system-deps`")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def redis_server():
    server = RedisServer()
    yield server
    server.kill()


def test_burst_from_one_address_meets_429_with_retry_after(app_factory):
    client = app_factory(RATE_LIMIT="5/minute", DNS_ENABLED=False).test_client()
    statuses = [client.get("/api/v1/check?domain=thepiratebay.org").status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    limited = client.get("/api/v1/check?domain=thepiratebay.org")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert client.get("/healthz").status_code == 200  # health checks are never limited


def test_limits_are_per_client_address(app_factory):
    client = app_factory(RATE_LIMIT="2/minute", DNS_ENABLED=False).test_client()
    for _ in range(2):
        client.get("/api/v1/check?domain=a.com", environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert client.get("/api/v1/check?domain=a.com", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 429
    assert client.get("/api/v1/check?domain=a.com", environ_base={"REMOTE_ADDR": "192.0.2.2"}).status_code == 200


@pytest.mark.parametrize(("origin", "allowed"), [
    ("chrome-extension://abcdefghijklmnopabcdefghijklmnop", True),
    ("moz-extension://0c8d4e6a-1b2c-4d3e-8f90-123456789abc", True),
    ("https://evil.example", False),
    ("https://research.example.org", True),
])
def test_cors_allows_only_extension_and_configured_origins(app_factory, origin, allowed):
    client = app_factory(DNS_ENABLED=False, CORS_ORIGINS=["https://research.example.org"]).test_client()
    response = client.get("/api/v1/check?domain=thepiratebay.org", headers={"Origin": origin})
    assert (response.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_long_query_is_a_clear_400(client, dns):
    response = client.get("/api/v1/check", query_string={"domain": "a" * 5000 + ".com"})
    assert response.status_code == 400 and response.get_json()["error"]["message"]
    assert dns.queries == []


def test_shared_cache_serves_a_second_app_without_dns(app_factory, dns, redis_server):
    """Two apps (two workers, or two machines) share answers through Redis."""
    first = app_factory(REDIS_URL=redis_server.url).test_client()
    assert first.get("/api/v1/check?domain=cf-shop.com").get_json()["cached"] is False
    asked = len(dns.queries)
    second = app_factory(REDIS_URL=redis_server.url).test_client()
    body = second.get("/api/v1/check?domain=cf-shop.com").get_json()
    assert body["cached"] is True and len(dns.queries) == asked
    assert body["verdict"]["level"] == "infrastructure"
    assert body["infrastructure"]["providers"][0]["evidence"][0]["kind"] == "ip_range"


def test_redis_killed_mid_run_answers_carry_on(app_factory, dns, redis_server):
    client = app_factory(REDIS_URL=redis_server.url, RATE_LIMIT="1000/minute").test_client()
    assert client.get("/api/v1/check?domain=thepiratebay.org").status_code == 200
    redis_server.kill()
    for domain in ["thepiratebay.org", "www.plain-site.org", "cf-shop.com"]:
        started = time.monotonic()
        response = client.get(f"/api/v1/check?domain={domain}")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert time.monotonic() - started < BUDGET + 0.5
    health = client.get("/healthz").get_json()
    assert health["cache"]["redis_ok"] is False and health["cache"]["redis_error"]


def test_shared_cache_with_redis_never_started_is_local_only():
    cache = SharedCache(TTLStore(10), f"redis://127.0.0.1:{free_port()}/0", str, str, retry_after=60)
    cache.set("k", "v", 60)
    assert cache.get("k") == "v"
    assert cache.stats()["redis_ok"] is False


@pytest.fixture
def own_dns():
    server = DnsTestServer().start()
    yield server
    server.stop()


def test_dns_stopped_mid_run(app_factory, own_dns):
    """The DNS server goes away between requests: 200s with the list match and a reason, in budget."""
    client = app_factory(DNS_NAMESERVERS=[own_dns.nameserver], CACHE_SIZE=0).test_client()
    assert client.get("/api/v1/check?domain=thepiratebay.org").get_json()["infrastructure"]["status"] == "resolved"
    own_dns.stop()
    started = time.monotonic()
    response = client.get("/api/v1/check?domain=thepiratebay.org")
    body = response.get_json()
    assert response.status_code == 200 and time.monotonic() - started < BUDGET + 0.5
    assert body["verdict"]["level"] == "target"
    assert body["infrastructure"]["status"] == "unavailable" and body["infrastructure"]["reason"]


def test_dns_slower_than_the_budget(app_factory, own_dns):
    own_dns.delay = BUDGET + 0.5
    client = app_factory(DNS_NAMESERVERS=[own_dns.nameserver]).test_client()
    started = time.monotonic()
    body = client.get("/api/v1/check?domain=www.thepiratebay.org").get_json()
    assert time.monotonic() - started < BUDGET + 0.5
    assert body["verdict"]["level"] == "target"
    assert body["infrastructure"]["status"] == "unavailable"
    assert "time budget" in body["infrastructure"]["reason"]


def test_answer_that_needs_tcp_fallback(client, dns):
    body = client.get("/api/v1/check?domain=tcp-only.org").get_json()
    assert body["infrastructure"]["status"] == "resolved"
    assert len(body["infrastructure"]["addresses"]) == 40
    assert ("tcp-only.org", "A", "tcp") in dns.queries


def test_parallel_requests_while_dns_fails(app_factory):
    """Many threads at once against SERVFAIL and a silent name: every answer a 200."""
    app = app_factory(CACHE_SIZE=0, RATE_LIMIT="")
    statuses = []

    def worker(domain):
        statuses.append(app.test_client().get(f"/api/v1/check?domain={domain}").status_code)

    threads = [threading.Thread(target=worker, args=(d,)) for d in ["servfail.com", "slow.com"] * 8]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert statuses == [200] * 16


def test_data_change_is_served_without_restart(app_factory, tmp_path):
    """With a reload interval, an edited data/ is picked up; a broken edit keeps the last good data."""
    from conftest import DATA_DIR

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    app = app_factory(DATA_DIR=str(data), RELOAD_INTERVAL=0.01, DNS_ENABLED=False)
    client = app.test_client()
    version = client.get("/healthz").get_json()["dataset_version"]
    (data / "entities" / "zz-broken.toml").write_text('id = "zz-broken"\n', encoding="utf-8")
    time.sleep(0.05)
    assert client.get("/api/v1/check?domain=thepiratebay.org").status_code == 200
    health = client.get("/healthz").get_json()
    assert health["dataset_version"] == version and "zz-broken.toml" in health["reload_error"]
    (data / "entities" / "zz-broken.toml").unlink()
    source = data / "sources" / "taz-2012-kim-dotcom-mega-plans.toml"
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    time.sleep(0.05)
    client.get("/healthz")
    health = client.get("/healthz").get_json()
    assert health["reload_error"] is None and health["dataset_version"] != version
