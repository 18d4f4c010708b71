"""Serving for real: rate limits, CORS, the Redis-shared cache, and faults in DNS and Redis."""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from caseflag.net.cache import SharedCache, TTLStore
from caseflag.net.infrastructure import Infrastructure
from conftest import BUDGET
from dnsserver import DnsTestServer
from unprivileged import readable_by_all, serve_command

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


def wait_for(probe, done, seconds=15.0):
    """probe() until done(its value) holds, and return that value: waiting for the event itself, not
    for a time it usually takes."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still not there after {seconds} s: {value!r}"[:2000]
        time.sleep(0.02)


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


def test_an_unreadable_shared_value_is_a_miss_not_an_error(app_factory, dns, redis_server):
    """A value in Redis this version cannot read (written by another version, or damaged) is
    asked of DNS again and overwritten; the answer is whole, never a 500."""
    import redis

    first = app_factory(REDIS_URL=redis_server.url).test_client()
    expected = first.get("/api/v1/check?domain=cf-shop.com").get_json()
    store = redis.Redis.from_url(redis_server.url)
    (key,) = [key for key in store.keys("caseflag:*") if b"cf-shop.com" in key]
    # The last: a reason code only a later version knows (its catalogue words it, this one's cannot).
    for damaged in (b'{"status": "resolved", "providers": 7}', b"\x80not json", b"[]",
                    b'{"status": "unavailable", "reason_code": "a_later_code"}'):
        store.set(key, damaged, ex=600)
        asked = len(dns.queries)
        body = app_factory(REDIS_URL=redis_server.url).test_client().get("/api/v1/check?domain=cf-shop.com")
        assert body.status_code == 200 and body.get_json()["cached"] is False, damaged
        assert body.get_json()["infrastructure"]["providers"] == expected["infrastructure"]["providers"]
        assert len(dns.queries) > asked
        assert Infrastructure.from_json(store.get(key)).providers  # overwritten with a readable one


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
    health = wait_for(lambda: client.get("/healthz").get_json(), lambda body: body["status"] == "degraded")
    assert client.get("/api/v1/check?domain=thepiratebay.org").status_code == 200
    assert health["dataset_version"] == version and "zz-broken.toml" in health["reload_error"]
    assert health["problems"] == [health["reload_error"]]
    (data / "entities" / "zz-broken.toml").unlink()
    source = data / "sources" / "taz-2012-kim-dotcom-mega-plans.toml"
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    health = wait_for(lambda: client.get("/healthz").get_json(), lambda body: body["dataset_version"] != version)
    assert health["reload_error"] is None and health["status"] == "ok" and health["problems"] == []


# --- caseflag serve for real: slow and idle clients, nginx's bounds, addresses behind the proxy ---



class Served:
    """`caseflag serve` (nginx in front of gunicorn) as a real process on a free port; its log (stderr,
    and the access log on stdout) goes to a file, read with log()."""

    def __init__(self, dns, workers=2, threads=8, **env):
        self.port = free_port()
        command, needs = serve_command()
        settings = {"CASEFLAG_DNS_NAMESERVERS": dns.nameserver, "CASEFLAG_DNS_BUDGET": "1",
                    "CASEFLAG_RELOAD_INTERVAL": "0", "CASEFLAG_PORT": str(self.port), **needs, **env}
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([*command, "serve", "--workers", str(workers), "--threads", str(threads)],
                                        env={**os.environ, **settings}, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if self.get("/healthz", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("caseflag serve did not answer /healthz within 30 s")

    def log(self) -> str:
        if self._log.closed:
            return self._final_log
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def request(self, method, path, timeout=5.0, headers=None, body=None, source="127.0.0.1"):
        """(status, headers, body) of one request from the loopback address `source`."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=(source, 0))
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def get(self, path, timeout=5.0, headers=None, source="127.0.0.1"):
        status, _, body = self.request("GET", path, timeout, headers, source=source)
        return status, body

    def workers(self) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid), "-f", "caseflag serve"],
                               capture_output=True, text=True, check=False).stdout.split()
        return sorted(int(pid) for pid in found)

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        if not self._log.closed:
            self._final_log = self.log()
            self._log.close()


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
        from caseflag.commands.serving import SLOW_CLIENT_LIMITS

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
    command, needs = serve_command()
    done = subprocess.run([*command, "serve"], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **needs, "CASEFLAG_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"})
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
        # gunicorn starts a worker in its place: wait for that, not for a time it usually takes.
        wait_for(served.workers, lambda pids: len(pids) == 2 and int(children[0]) not in pids)
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
        command, needs = serve_command()
        env = {**os.environ, **needs, "CASEFLAG_PORT": str(port), "CASEFLAG_DNS_ENABLED": "false"}
        done = subprocess.run([*command, "serve", "--workers", "1"], env=env, capture_output=True, text=True,
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


# --- issue 21: faults while serving for real (nginx, gunicorn, Redis, the test DNS server) --------

def serve_folder(served) -> Path:
    """caseflag serve's private folder (gunicorn's socket, the last good dataset), from nginx's -p."""
    nginx = subprocess.run(["pgrep", "-P", str(served.process.pid), "-x", "nginx"],
                           capture_output=True, text=True, check=True).stdout.split()
    arguments = Path(f"/proc/{nginx[0]}/cmdline").read_bytes().replace(b"\0", b" ").decode().split()
    return Path(arguments[arguments.index("-p") + 1])


def test_a_broken_file_and_killed_workers_leave_the_service_answering(dns, tmp_path):
    """A record broken while serving, then every worker killed: the workers gunicorn starts in their
    place serve the last good list, /healthz says degraded and why, and gunicorn's master stays up."""
    from conftest import DATA_DIR

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    readable_by_all(data)
    served = Served(dns, workers=2, CASEFLAG_DATA_DIR=str(data), CASEFLAG_RELOAD_INTERVAL="0.2",
                    CASEFLAG_DNS_ENABLED="false", CASEFLAG_RATE_LIMIT="")
    try:
        version = json.loads(served.get("/healthz")[1])["dataset_version"]
        (data / "entities" / "zz-broken.toml").write_text('id = "zz-broken"\n', encoding="utf-8")
        for round_ in range(2):  # the second round: workers that themselves started from the kept list
            before = served.workers()
            for pid in before:
                os.kill(pid, signal.SIGKILL)
            wait_for(served.workers, lambda pids: len(pids) == 2 and not set(pids) & set(before))
            for _ in range(10):
                status, body = served.get("/healthz")
                health = json.loads(body)
                assert status == 200 and health["status"] == "degraded", health
                assert health["dataset_version"] == version and "zz-broken.toml" in health["problems"][0]
                assert "last good list" in health["problems"][0]
                status, body = served.get("/api/v1/check?domain=thepiratebay.org")
                assert status == 200 and json.loads(body)["verdict"]["level"] == "target"
            assert served.process.poll() is None, served.log()
        (data / "entities" / "zz-broken.toml").unlink()
        wait_for(lambda: [json.loads(served.get("/healthz")[1])["status"] for _ in range(6)],
                 lambda statuses: statuses == ["ok"] * 6)
        assert "Worker failed to boot" not in served.log()
    finally:
        served.stop()


def test_a_get_whose_worker_dies_mid_request_is_answered(dns):
    """Every worker killed while GETs wait on a slow resolver: nginx sends each once more, to the
    workers gunicorn starts in their place, and every one is answered 200, none 502."""
    served = Served(dns, workers=2, CASEFLAG_RATE_LIMIT="", CASEFLAG_CACHE_SIZE="0")
    dns.delay = 1.0
    try:
        results = []
        names = [f"www{i}.cf-shop.com" for i in range(4)]  # within the DNS slots of one worker
        threads = [threading.Thread(target=lambda name=name: results.append(
            served.get(f"/api/v1/check?domain={name}", timeout=20)[0])) for name in names]
        for thread in threads:
            thread.start()
        wait_for(dns.names_asked, lambda asked: set(names) <= asked)  # each GET is with a worker, waiting on DNS
        before = served.workers()
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        for thread in threads:
            thread.join(30)
        assert sorted(results) == [200] * len(names), served.log()
    finally:
        dns.delay = 0.0
        served.stop()


def _concurrently(count, work):
    """Run work(number) in `count` threads at once; their results, in order."""
    results = [None] * count
    start = threading.Barrier(count + 1)

    def run(number):
        start.wait()
        results[number] = work(number)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    return threads, results


def test_a_dead_resolver_leaves_healthz_and_cached_answers_fast(redis_server):
    """The resolver stops answering and 64 uncached checks arrive at once: /healthz and a cached check
    stay under 0.5 s throughout, and every check is answered 200 (infrastructure unavailable, why)."""
    resolver = DnsTestServer().start()
    served = Served(resolver, workers=2, CASEFLAG_REDIS_URL=redis_server.url, CASEFLAG_RATE_LIMIT="")
    try:
        assert json.loads(served.get("/api/v1/check?domain=www.thepiratebay.org")[1])["cached"] is False
        resolver.delay = 30.0  # there, but never answers in time
        threads, results = _concurrently(64, lambda n: served.get(f"/api/v1/check?domain=n{n}.unlisted-site.net",
                                                                  timeout=30, source="127.0.0.3"))
        latencies = []
        while any(thread.is_alive() for thread in threads) or len(latencies) < 20:
            for path in ("/healthz", "/api/v1/check?domain=www.thepiratebay.org"):
                started = time.monotonic()
                status, body = served.get(path)
                latencies.append(time.monotonic() - started)
                assert status == 200
        for thread in threads:
            thread.join(timeout=30)
        assert max(latencies) < 0.5, f"slowest /healthz or cached check: {max(latencies):.2f} s"
        assert [status for status, _ in results] == [200] * 64
        infrastructure = [json.loads(body)["infrastructure"] for _, body in results]
        assert all(item["status"] == "unavailable" and item["reason"] for item in infrastructure)
        # (Each worker has its own breaker, and which worker takes which check is the kernel's
        # choice: tests/test_dnsguard.py checks the breaker's states on one process.)
    finally:
        served.stop()
        resolver.stop()


def test_a_hung_redis_adds_at_most_half_a_second(dns, redis_server):
    """Redis stopped mid-run (SIGSTOP: connections open, nothing answered): each request, of each
    kind, takes at most 0.5 s more than before."""
    served = Served(dns, workers=2, CASEFLAG_REDIS_URL=redis_server.url, CASEFLAG_RATE_LIMIT="10000/minute")
    paths = ["/healthz", "/api/v1/check?domain=www.thepiratebay.org", "/lookup?domain=www.thepiratebay.org",
             "/api/v1/cases", "/"]
    try:
        def slowest(rounds):
            worst = 0.0
            for _ in range(rounds):
                for path in paths:
                    started = time.monotonic()
                    status, body = served.get(path)
                    worst = max(worst, time.monotonic() - started)
                    assert status == 200, body[:300]
            return worst

        before = slowest(3)
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            during = slowest(6)
            fresh = [served.get(f"/api/v1/check?domain=h{n}.unlisted-site.net") for n in range(4)]
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        assert during < before + 0.5, f"{during:.2f} s with Redis hung, {before:.2f} s before"
        assert [status for status, _ in fresh] == [200] * 4
    finally:
        served.stop()


def test_the_limit_counts_one_address_across_the_api_and_the_pages(dns):
    """One count per address: checks, pages and case records share it, a bulk check costs its names,
    and another address keeps its own."""
    served = Served(dns, workers=1, CASEFLAG_RATE_LIMIT="12/minute", CASEFLAG_DNS_ENABLED="false")
    bulk = json.dumps({"domains": ["thepiratebay.org"] * 5})
    headers = {"Content-Type": "application/json"}
    try:
        statuses = [served.get("/api/v1/check?domain=thepiratebay.org")[0] for _ in range(3)]
        statuses += [served.get("/lookup?domain=thepiratebay.org")[0] for _ in range(2)]
        statuses += [served.get("/api/v1/cases")[0] for _ in range(2)]
        statuses.append(served.request("POST", "/api/v1/check", body=bulk, headers=headers)[0])  # 5 names: 12
        assert statuses == [200] * 8
        for path in ("/api/v1/entities", "/", "/api/v1/check?domain=thepiratebay.org"):
            status, response_headers, body = served.request("GET", path)
            assert status == 429 and json.loads(body)["error"]["code"] == "rate_limited"
            assert 0 < int(response_headers["Retry-After"]) <= 61  # the window, rounded
        assert served.get("/healthz")[0] == 200  # never limited
        other = served.request("POST", "/api/v1/check", body=bulk, headers=headers, source="127.0.0.2")
        assert other[0] == 200 and "Retry-After" not in other[1]
        too_many = json.dumps({"domains": ["thepiratebay.org"] * 8})
        assert served.request("POST", "/api/v1/check", body=too_many, headers=headers, source="127.0.0.2")[0] == 429
    finally:
        served.stop()


def test_thousands_of_slow_connections_from_one_address_leave_another_answered(dns):
    """8,000 connections from 127.0.0.1 that never finish their headers: /healthz from 127.0.0.2
    answers every time while they are held, and nginx closes them at its header deadline."""
    served = Served(dns, workers=1, CASEFLAG_DNS_ENABLED="false")
    hanging: list[socket.socket] = []
    statuses = []
    try:
        for number in range(8000):
            sock = socket.socket()
            sock.settimeout(5)
            sock.connect(("127.0.0.1", served.port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            hanging.append(sock)
            if number % 200 == 199:
                statuses.append(served.get("/healthz", timeout=3, source="127.0.0.2")[0])
        for _ in range(20):
            statuses.append(served.get("/healthz", timeout=3, source="127.0.0.2")[0])
        assert statuses == [200] * len(statuses)
    finally:
        for sock in hanging:
            sock.close()
        served.stop()


def test_too_many_requests_at_once_from_one_address_get_429_and_a_warning_in_the_log(dns):
    """nginx's per-address limit on requests in progress: the one past it is refused in the JSON
    shape, another address is not, and the operator's log has the warning without the client's
    address, the request line or the host."""
    # 128 threads: 32 body slots, so that the 32 requests below all wait (for 5 s) at gunicorn.
    served = Served(dns, workers=1, threads=128, CASEFLAG_DNS_ENABLED="false", CASEFLAG_REQUESTS_PER_ADDRESS="32")
    held = []
    try:
        for _ in range(32):  # headers whole, the body never sent
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
            sock.sendall(b"POST /api/v1/check?domain=secret-site.example HTTP/1.1\r\nHost: secret-host.example\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
            held.append(sock)
        wait_for(lambda: served.request("GET", "/healthz?secret=1", headers={"Host": "secret-host.example"}),
                 lambda response: response[0] == 429)
        status, headers, body = served.request("GET", "/healthz")
        assert status == 429 and json.loads(body)["error"]["code"] == "rate_limited"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert served.get("/healthz", source="127.0.0.2")[0] == 200
    finally:
        for sock in held:
            sock.close()
        served.stop()
    log = served.log()
    assert "limiting connections by zone" in log
    for secret in ("secret", "127.0.0.1", "client:", "?"):
        assert secret not in log, [line for line in log.splitlines() if secret in line]


def test_malformed_requests_leave_no_query_or_host_in_the_log_and_get_json(dns):
    """Raw UTF-8 or a stray byte in the request line, a header gunicorn cannot read, sent to nginx and
    straight to gunicorn's socket: JSON errors with security headers, and no line of the log holds
    the query or the host asked about."""
    served = Served(dns, workers=1, CASEFLAG_DNS_ENABLED="false")
    requests = [b"GET /api/v1/check?domain=secret-\xc3\xbc.example HTTP/1.1\r\nHost: secret-host.example\r\n\r\n",
                b"GET /api/v1/check?domain=secret\x01.example HTTP/1.1\r\nHost: secret-host.example\r\n\r\n",
                b"GET /api/v1/check?domain=secret.example HTTP/1.1\r\nHost: secret-host.example\r\nBad\x7f: 1\r\n\r\n",
                b"GET /api/v1/check?domain=secret.example HTTP/1.1\r\nHost: secret-host.example\r\n"
                b"Transfer-Encoding: gzip\r\n\r\n",
                b"GET /api/v1/check?domain=secret.example HTTP/9.9\r\nHost: secret-host.example\r\n\r\n"]
    try:
        upstream = str(serve_folder(served) / "gunicorn.sock")
        for raw in requests:
            for family, address in ((socket.AF_INET, ("127.0.0.1", served.port)), (socket.AF_UNIX, upstream)):
                with socket.socket(family) as sock:
                    sock.settimeout(5)
                    sock.connect(address)
                    sock.sendall(raw)
                    answer = b""
                    while chunk := sock.recv(65536):
                        answer += chunk
                head, _, body = answer.partition(b"\r\n\r\n")
                status = int(head.split()[1])
                assert 400 <= status < 600 and json.loads(body)["error"]["message"], (raw, answer[:300])
                assert b"X-Content-Type-Options: nosniff" in head, (raw, head)
                assert b"secret" not in body
    finally:
        served.stop()
    log = served.log()
    leaks = [line for line in log.splitlines() if "secret" in line or "?" in line]
    assert not leaks, leaks


def test_every_answer_carries_the_security_headers(dns):
    """Pages get a strict CSP with frame-ancestors 'none'; the API, nginx's and the app's errors get
    nosniff and a Referrer-Policy; Retry-After only on a 429; a redirect never names the Host sent."""
    served = Served(dns, workers=1, CASEFLAG_DNS_ENABLED="false")
    try:
        for path in ("/", "/lookup?domain=thepiratebay.org", "/api/v1/check?domain=thepiratebay.org", "/healthz",
                     "/api/v1/cases/no-such-case", "/api/v1/check?domain=" + "a" * 9000, "/static/style.css",
                     "/api//v1/cases"):
            status, headers, _ = served.request("GET", path, headers={"Host": "attacker.example"})
            assert headers["X-Content-Type-Options"] == "nosniff", path
            assert headers["Referrer-Policy"] == "no-referrer", path
            assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
            assert "Retry-After" not in headers and "X-RateLimit-Limit" not in headers, path
            if headers.get("Content-Type", "").startswith("text/html"):
                assert "default-src 'none'" in headers["Content-Security-Policy"]
                assert "script-src" not in headers["Content-Security-Policy"]
            if 300 <= status < 400:
                assert headers["Location"].startswith("/") and "attacker" not in headers["Location"]
    finally:
        served.stop()


@pytest.mark.parametrize("origin", ["chrome-extension://abcdefghijklmnopabcdefghijklmnop.evil.example",
                                    "chrome-extension://abcdefghijklmnopabcdefghijklmnopq",
                                    "moz-extension://0c8d4e6a-1b2c-4d3e-8f90-123456789abc.evil.example"])
def test_cors_patterns_are_anchored_at_the_end(app_factory, origin):
    client = app_factory(DNS_ENABLED=False).test_client()
    response = client.get("/api/v1/check?domain=thepiratebay.org", headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("body", [b'{"domains": ["a.com"], "n": NaN}', b'{"domains": ["a.com"], "n": Infinity}',
                                  b'{"domains": ["a.com"], "n": -Infinity}'])
def test_nan_and_infinity_are_refused(client, body):
    response = client.post("/api/v1/check", data=body, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "body"


def test_error_messages_name_no_python_internals(app_factory, redis_server):
    """What /healthz says of a dead Redis, and the app's own errors, name no Python class."""
    client = app_factory(REDIS_URL=redis_server.url).test_client()
    redis_server.kill()
    client.get("/api/v1/check?domain=thepiratebay.org")
    text = client.get("/healthz").get_data(as_text=True)
    for internal in ("Error:", "Traceback", "Exception", "redis.exceptions"):
        assert internal not in text


def test_each_instance_has_its_own_control_socket(dns):
    """Two instances on one machine: each gunicorn has a control socket in its own folder, and
    stopping one leaves the other's in place (they once shared one path, and stopping one removed it)."""
    first, second = Served(dns, workers=1), Served(dns, workers=1)
    try:
        sockets = [serve_folder(served) / "gunicorn.ctl" for served in (first, second)]
        assert sockets[0] != sockets[1] and all(path.is_socket() for path in sockets)
        assert oct(sockets[0].stat().st_mode & 0o777) == "0o600"
        first.stop()
        assert sockets[1].is_socket() and not sockets[0].exists()
        assert second.get("/healthz")[0] == 200
    finally:
        first.stop()
        second.stop()


def test_the_dev_server_logs_no_query_even_for_a_malformed_request(app_factory, caplog):
    """`caseflag serve --dev`: Flask's server with caseflag's handler; a request line it cannot read
    is logged without the query it held, as a good one is."""
    import logging

    from werkzeug.serving import make_server

    from caseflag.commands.serving import PrivateRequestHandler

    server = make_server("127.0.0.1", 0, app_factory(DNS_ENABLED=False), threaded=True,
                         request_handler=PrivateRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for raw in (b"GET /api/v1/check?domain=secret.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b"GET /api/v1/check?domain=secret.example HTTP/1.1 junk\r\n\r\n",
                        b"GET /api/v1/check?domain=secret.example and more HTTP/1.1\r\n\r\n"):
                with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
                    sock.sendall(raw)
                    while sock.recv(65536):
                        pass
        lines = [record.getMessage() for record in caplog.records]
        assert any("Bad request syntax" in line for line in lines)
        assert any('"GET /api/v1/check"' in line for line in lines)
        assert not [line for line in lines if "secret" in line or "?" in line], lines
    finally:
        server.shutdown()
        server.server_close()
