"""Shared fixtures: the real test DNS server, the app, and the app served over real HTTP."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).parent))

from dnsserver import DnsTestServer, closed_port  # noqa: E402

from caseflag.web.app import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
BUDGET = 1.0
# The Pirate Bay's onion address, listed on its entity in the onion_data copy of data/.
TPB_ONION = "piratebayo3klnzokct3wt5yyxb2vpebbuyjl7m623iaxmqhsd52coid.onion"


# --- fuzzed inputs, counted: every fuzz test calls fuzzed() once per input it tries -------------

FUZZ_COUNTS: Counter = Counter()
FUZZ_MINIMUM = 10_000  # inputs per full run (make test), across parsers, the API and the DNS reader
ARTIFACTS = ROOT / "test-artifacts"


def fuzzed(name: str, count: int = 1) -> None:
    FUZZ_COUNTS[name] += count


def pytest_terminal_summary(terminalreporter):
    if not FUZZ_COUNTS:
        return
    total = sum(FUZZ_COUNTS.values())
    terminalreporter.write_sep("-", f"fuzzed inputs: {total:,} (minimum for a full run {FUZZ_MINIMUM:,})")
    for name, count in sorted(FUZZ_COUNTS.items()):
        terminalreporter.write_line(f"  {count:>7,}  {name}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fuzz-counts.json").write_text(json.dumps({"total": total, "by_test": dict(FUZZ_COUNTS)},
                                                           indent=1) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def dns_server():
    server = DnsTestServer().start()
    yield server
    server.stop()


@pytest.fixture
def dns(dns_server):
    """The session's DNS server with its query log emptied for this test."""
    dns_server.clear()
    dns_server.delay = 0.0
    dns_server.refuse_after = None
    return dns_server


@pytest.fixture(scope="session")
def onion_data(tmp_path_factory):
    """A copy of data/ whose Pirate Bay entity also lists its onion address."""
    target = tmp_path_factory.mktemp("onion") / "data"
    shutil.copytree(DATA_DIR, target)
    entity = target / "entities" / "the-pirate-bay.toml"
    text = entity.read_text(encoding="utf-8")
    entity.write_text(text.replace('domains = ["thepiratebay.org"]',
                                   f'domains = ["thepiratebay.org", "{TPB_ONION}"]', 1), encoding="utf-8")
    assert TPB_ONION in entity.read_text(encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def german_data():
    """data/ itself: every record carries its German text ([de]) and the bridal case only mentions The Pirate Bay."""
    return DATA_DIR


@pytest.fixture
def app_factory(dns):
    def make(**config):
        settings = {"DNS_NAMESERVERS": [dns.nameserver], "DNS_BUDGET": BUDGET, "DATA_DIR": str(DATA_DIR)}
        settings.update(config)
        app = create_app(settings)
        app.testing = True
        return app

    return make


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def offline_app(app_factory):
    """DNS pointed at a port where nothing listens: the network is 'down'."""
    return app_factory(DNS_NAMESERVERS=[f"127.0.0.1:{closed_port()}"])


class LiveServer:
    """The real app over real HTTP on a free loopback port, in a thread, logging request targets."""

    def __init__(self, app) -> None:
        self.requests: list[str] = []
        inner = app.wsgi_app

        def logging_app(environ, start_response):
            target = environ.get("PATH_INFO", "")
            if environ.get("QUERY_STRING"):
                target += "?" + environ["QUERY_STRING"]
            self.requests.append(target)
            return inner(environ, start_response)

        app.wsgi_app = logging_app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def live_server(app_factory):
    server = LiveServer(app_factory())
    yield server
    server.stop()
