"""Serving for real: rate limits, CORS, the Redis-shared cache, and faults in DNS and Redis."""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

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


# --- caseflag serve for real: slow and idle clients, nginx's bounds, addresses behind the proxy ---

CASEFLAG = str(Path(sys.executable).with_name("caseflag"))


class Served:
    """`caseflag serve` (nginx in front of gunicorn) as a real process on a free port."""

    def __init__(self, dns, workers=2, **env):
        self.port = free_port()
        settings = {"CASEFLAG_DNS_NAMESERVERS": dns.nameserver, "CASEFLAG_DNS_BUDGET": "1",
                    "CASEFLAG_RELOAD_INTERVAL": "0", "CASEFLAG_PORT": str(self.port), **env}
        self.process = subprocess.Popen([CASEFLAG, "serve", "--workers", str(workers)], env={**os.environ, **settings},
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read().decode()
            try:
                if self.get("/healthz", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("caseflag serve did not answer /healthz within 30 s")

    def get(self, path, timeout=5.0, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process.stderr.close()


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server ends the stream (after an answer, if it sends one) before the socket's timeout."""
    try:
        while sock.recv(4096):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_slow_and_idle_clients_cannot_starve_the_service(dns):
    """200 connections that never finish their request (half a request line, a byte a second, nothing
    at all): other clients are answered within a second, and each of the 200 is closed in bounded time."""
    served = Served(dns)
    hanging: list[socket.socket] = []
    try:
        for number in range(200):
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
            if number % 4 == 0:
                sock.sendall(b"GET /api/v1/check?domain=thepirate")  # half a request line, then nothing
            elif number % 4 == 1:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never ended
            elif number % 4 == 2:
                sock.sendall(b"G")  # will trickle a byte a second
            hanging.append(sock)
        opened = time.monotonic()
        latencies = []
        for round_ in range(12):
            for number, sock in enumerate(hanging):
                if number % 4 == 2 and round_ < 10:
                    with contextlib.suppress(OSError):
                        sock.sendall(b"E")
            for path in ("/healthz", "/api/v1/check?domain=www.thepiratebay.org"):
                started = time.monotonic()
                status, body = served.get(path, timeout=5)
                latencies.append(time.monotonic() - started)
                assert status == 200, body[:300]
            time.sleep(0.5)
        assert max(latencies) < 1.0, f"slowest answer {max(latencies):.2f} s while 200 clients hung"
        from caseflag.serving import SLOW_CLIENT_LIMITS

        bound = SLOW_CLIENT_LIMITS["header_seconds"] + 3
        for sock in hanging:
            sock.settimeout(max(bound - (time.monotonic() - opened), 0.1))
        still_open = [number for number, sock in enumerate(hanging) if not _closed_by_server(sock)]
        assert not still_open, f"{len(still_open)} connections still open {bound} s after they were opened"
        assert time.monotonic() - opened <= bound + 1
    finally:
        for sock in hanging:
            sock.close()
        served.stop()


def test_nginx_refusals_are_in_the_one_error_shape(dns):
    """What nginx itself refuses (too long a request line or header, too large a body) is JSON too."""
    served = Served(dns, workers=1)
    try:
        status, body = served.get("/api/v1/check?domain=" + "a" * 9000)
        assert status == 414 and json.loads(body)["error"]["code"] == "too_large"
        status, body = served.get("/healthz", headers={"X-Long": "a" * 9000})
        assert status == 400 and json.loads(body)["error"]["message"]
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
        connection.request("POST", "/api/v1/check", body=b'{"domains": ["' + b"a" * 300_000 + b'"]}',
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 413 and json.loads(response.read())["error"]["code"] == "too_large"
        connection.close()
        status, body = served.get("/api/v1/check?domain=shop.onion")
        assert status == 422 and json.loads(body)["error"]["code"] == "not_public"
    finally:
        served.stop()


def test_rate_limits_count_the_real_client_behind_the_proxy(dns):
    """nginx replaces X-Forwarded-For with the peer's address: a client cannot pose as another."""
    served = Served(dns, workers=1, CASEFLAG_RATE_LIMIT="3/minute", CASEFLAG_DNS_ENABLED="false")
    try:
        statuses = [served.get("/api/v1/check?domain=thepiratebay.org",
                               headers={"X-Forwarded-For": f"192.0.2.{n}"})[0] for n in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
    finally:
        served.stop()


def test_behind_a_trusted_proxy_the_limits_count_the_client_it_names(dns):
    """With CASEFLAG_TRUSTED_PROXIES holding the proxy's address (here the test itself, on
    loopback), the client is the last address in X-Forwarded-For that no trusted proxy holds:
    five clients through one proxy each get their own count, one client gets the limit, and an
    address a client put in front of its own cannot move its count elsewhere."""
    served = Served(dns, workers=1, CASEFLAG_RATE_LIMIT="3/minute", CASEFLAG_DNS_ENABLED="false",
                    CASEFLAG_TRUSTED_PROXIES="127.0.0.0/8, ::1")
    path = "/api/v1/check?domain=thepiratebay.org"
    try:
        assert [served.get(path, headers={"X-Forwarded-For": f"192.0.2.{n}"})[0] for n in range(5)] == [200] * 5
        one = [served.get(path, headers={"X-Forwarded-For": "198.51.100.9"})[0] for _ in range(5)]
        assert one == [200, 200, 200, 429, 429]
        posing = served.get(path, headers={"X-Forwarded-For": "203.0.113.1, 198.51.100.9"})[0]
        assert posing == 429  # still 198.51.100.9: the proxy appended it after what the client sent
    finally:
        served.stop()


def test_a_trusted_proxy_that_is_no_address_is_a_clear_error():
    done = subprocess.run([CASEFLAG, "serve"], env={**os.environ, "CASEFLAG_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "CASEFLAG_TRUSTED_PROXIES" in done.stderr and "Traceback" not in done.stderr


def test_a_worker_ending_leaves_nginx_serving_and_stop_is_prompt(dns):
    """A gunicorn worker that exits (max requests, a timeout) unwinds through run_gunicorn too: it
    must not stop nginx or remove the socket. And stopping caseflag serve takes seconds, not 10."""
    served = Served(dns)
    try:
        children = subprocess.run(["pgrep", "-P", str(served.process.pid), "-f", "caseflag serve"],
                                  capture_output=True, text=True, check=True).stdout.split()
        nginx = subprocess.run(["pgrep", "-P", str(served.process.pid), "-x", "nginx"],
                               capture_output=True, text=True, check=True).stdout.split()
        # nginx rewrites its title: "nginx: master process /usr/sbin/nginx -e stderr -p <folder> -c ..."
        arguments = Path(f"/proc/{nginx[0]}/cmdline").read_bytes().replace(b"\0", b" ").decode().split()
        upstream = Path(arguments[arguments.index("-p") + 1]) / "gunicorn.sock"
        assert upstream.is_socket()
        os.kill(int(children[0]), signal.SIGTERM)
        time.sleep(2)
        assert [served.get("/healthz")[0] for _ in range(6)] == [200] * 6
        assert upstream.is_socket(), "the exiting worker removed gunicorn's socket"
    finally:
        started = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        served.process.wait(timeout=20)
        assert time.monotonic() - started < 8
        served.stop()


def test_a_port_in_use_is_a_clear_error_not_a_silent_server(dns):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "CASEFLAG_PORT": str(port), "CASEFLAG_DNS_ENABLED": "false"}
        done = subprocess.run([CASEFLAG, "serve", "--workers", "1"], env=env, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 2
    assert "caseflag: error: nginx did not start listening" in done.stderr and "port in use" in done.stderr


def test_cors_exposes_the_etag_so_an_extension_can_ask_for_a_304(app_factory):
    """The extension's list update reads the ETag through CORS (it may hold no host permission)."""
    client = app_factory(DNS_ENABLED=False).test_client()
    origin = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
    response = client.get("/api/v1/dataset/index", headers={"Origin": origin})
    assert response.status_code == 200 and response.headers["ETag"]
    assert "etag" in response.headers.get("Access-Control-Expose-Headers", "").lower()
    again = client.get("/api/v1/dataset/index", headers={"Origin": origin, "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
