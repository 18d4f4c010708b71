"""Fixtures for the real extension in Debian's Chromium: the browser, the test sites, the backend.

Test sites are named hosts (thepiratebay.org, cf-shop.com, plain-site.org, mega.nz) that Chromium
resolves to a local page server; the backend is the real app (conftest.live_server) with DNS pointed
at the test DNS server, or FakeCaseflag, a small server that plays one and counts every request it
gets. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from longest_entry import longest_entry

ROOT = Path(__file__).resolve().parents[2]
EXTENSION_DIR = ROOT / "extension"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("CASEFLAG_CHROMIUM", "/usr/bin/chromium"))

SITE_HOSTS = (
    "thepiratebay.org", "www.thepiratebay.org",
    "cf-shop.com", "www.cf-shop.com",
    "plain-site.org", "www.plain-site.org",
    "riaa.com", "servfail.com", "allofmp3.com",
    "me.ga", "caseflag.test", "printer.local",
)
# Listed, in the granted copy's list only, as one of The Pirate Bay's domains.
ONION_HOST = "piratebayo3klnzokct3wt5yyxb2vpebbuyjl7m623iaxmqhsd52coid.onion"
SITE_HOSTS += (ONION_HOST,)
# The provider the granted copy's list adds: every loopback address is "served" by it.
TEST_PROVIDER = {
    "id": "loopback-test-hosting", "name": "Loopback Test Hosting", "short_label": "LB",
    "entity_id": "cloudflare", "ipv4": ["127.0.0.0/8"], "ipv6": [], "nameserver_patterns": [],
    "cname_patterns": [], "header_patterns": [],
}
# How long the worker may take from a page load to a badge (the backend's DNS budget is 1 s).
CHECK_TIMEOUT = 15.0
FIRST_RUN_PATH = "firstrun/firstrun.html"
# The issue form that "Report a problem with this listing" opens (extension/project.json, made from
# pyproject.toml). Its host is never resolved here: the browser is told it does not exist, and
# the tests that open the form catch the navigation before it leaves the page.
PROJECT = json.loads((EXTENSION_DIR / "project.json").read_text(encoding="utf-8"))
FORM_HOST = urlsplit(PROJECT["issue_form"]).hostname


# The listed site with the longest popup (tests/longest_entry.py).
LONGEST_ENTITY, LONGEST_HOST = longest_entry(EXTENSION_DIR)


class PageServer:
    """Serves a small HTML page for any host and path, over http and (on another port, with a
    self-signed certificate the test browser is told to accept) https; remembers (host, path) of
    each request. https is for listed sites whose names browsers only ever reach over https (HSTS
    preloaded, such as cloudflare.com)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def version_string(self) -> str:
                # Sites named cf-… answer as Cloudflare's edge does (what the connection permission reads).
                host = getattr(self, "headers", None) and self.headers.get("Host", "")
                return "cloudflare" if host and host.startswith(("cf-", "www.cf-")) else "caseflag-test"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                seen.append((self.headers.get("Host", ""), self.path))
                body = b"<!doctype html><title>test site</title><p>A page for the caseflag tests.</p>"
                self.send_response(200)
                if self.version_string() == "cloudflare":
                    self.send_header("CF-Ray", "8c1f2e3d4a5b6c7d-FRA")
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._tls_dir = tempfile.TemporaryDirectory(prefix="caseflag-tls-")
        self._tls_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._tls_server.socket = self_signed_context(Path(self._tls_dir.name)).wrap_socket(
            self._tls_server.socket, server_side=True)
        self.tls_port = self._tls_server.server_address[1]
        for server in (self._server, self._tls_server):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def url(self, host: str, path: str = "/", secure: bool = False) -> str:
        return f"https://{host}:{self.tls_port}{path}" if secure else f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        for server in (self._server, self._tls_server):
            server.shutdown()
            server.server_close()
        self._tls_dir.cleanup()


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a throwaway self-signed certificate (made by openssl)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=caseflag-test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class FakeCaseflag:
    """Plays a caseflag server on loopback: /healthz, /api/v1/check (every name is a "party" of a
    fake list, so its answers are told apart from the built-in list's) and /api/v1/dataset/index
    (whatever body and ETag a test sets, 304 for a matching If-None-Match); failing answers 503 to
    everything, failing_checks only to /api/v1/check. Sends the CORS headers
    the real server sends to the extension, and keeps (method, target, headers) of every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict]] = []
        self.index_body: bytes | None = None
        self.index_etag: str | None = None
        self.failing = False
        # Healthy (/healthz answers) but failing every check with 503, as an overloaded server does.
        self.failing_checks = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                origin = self.headers.get("Origin")
                if origin:
                    self.send_header("Access-Control-Allow-Origin", origin)
                    self.send_header("Access-Control-Expose-Headers", "ETag")
                    self.send_header("Vary", "Origin")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_OPTIONS(self) -> None:  # noqa: N802
                fake.requests.append(("OPTIONS", self.path, dict(self.headers)))
                self._send(204, headers={"Access-Control-Allow-Methods": "GET",
                                         "Access-Control-Allow-Headers": "Accept, If-None-Match"})

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(("GET", self.path, dict(self.headers)))
                parts = urlsplit(self.path)
                down = b'{"error": {"code": "unavailable", "message": "down for the test"}}'
                if fake.failing or (fake.failing_checks and parts.path == "/api/v1/check"):
                    self._send(503, down)
                elif parts.path == "/healthz":
                    self._json({"status": "ok", "dataset_version": "fake-server"})
                elif parts.path == "/api/v1/check":
                    domain = parse_qs(parts.query).get("domain", [""])[0]
                    self._json(fake_answer(domain))
                elif parts.path == "/api/v1/dataset/index" and fake.index_body is not None:
                    if fake.index_etag and self.headers.get("If-None-Match") == fake.index_etag:
                        self._send(304, headers={"ETag": fake.index_etag})
                    else:
                        headers = {"Content-Type": "application/json"}
                        if fake.index_etag:
                            headers["ETag"] = fake.index_etag
                        self._send(200, fake.index_body, headers)
                else:
                    self._send(404, b'{"error": {"code": "not_found", "message": "no such page"}}')

            def _json(self, body: dict) -> None:
                self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def targets(self, path: str | None = None) -> list[str]:
        return [target for _, target, _ in self.requests if path is None or urlsplit(target).path == path]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def fake_answer(domain: str) -> dict:
    return {"query": domain, "hostname": domain, "registrable_domain": domain,
            "verdict": {"level": "party", "badge": {"text": "i", "color": "#1565c0"},
                        "reasons": ["The fake server says so."]},
            "matches": [], "infrastructure": {"status": "skipped", "reason": "fake", "addresses": [],
                                              "providers": []},
            "dataset_version": "fake-server", "checked_at": "2026-12-03T12:00:00+00:00"}


def bundled_index() -> dict:
    return json.loads((EXTENSION_DIR / "data" / "index.json").read_text(encoding="utf-8"))


def granted_copy(target: Path, connection: str = "required") -> Path:
    """A copy of the extension in which the optional connection permission is required, and whose
    list adds TEST_PROVIDER. Why: Playwright cannot answer the browser's permission prompt, and
    Chromium has no switch that grants an optional permission; a required one is granted at install,
    which is the state a person reaches by allowing it in the settings. The code paths are the same
    (chrome.webRequest exists at start-up, permissions.contains is true). The list also names an
    .onion address (ONION_HOST) for The Pirate Bay.

    connection="optional" keeps webRequest optional and makes only the host access required: then
    the settings' own request for the connection permission adds no new warning, and Chromium
    grants it without a prompt, so a test can take the real path through the settings page."""
    shutil.copytree(EXTENSION_DIR, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    if connection == "required":
        manifest["permissions"] = [*manifest["permissions"], *manifest.pop("optional_permissions")]
    manifest["host_permissions"] = manifest.pop("optional_host_permissions")
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    index = bundled_index()
    # What the server's index says when a provider serves a site, as it would say it of this one.
    said = next(p for p in index["providers"] if p["id"] == "cloudflare")["explanations"]
    index["providers"].append({**TEST_PROVIDER, "explanations": {
        lang: [{**item, "params": {**item["params"], "provider": TEST_PROVIDER["name"]}} for item in items]
        for lang, items in said.items()}})
    next(entity for entity in index["entities"] if entity["id"] == "the-pirate-bay")["domains"].append(ONION_HOST)
    (target / "data" / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return target


class ExtensionBrowser:
    """Chromium with the unpacked extension loaded, and helpers that ask its service worker."""

    def __init__(self, playwright, lang: str, pages: PageServer, extension_dir: Path = EXTENSION_DIR,
                 profile: tempfile.TemporaryDirectory | None = None) -> None:
        self.lang = lang
        self.pages = pages
        # A profile handed over from a closed browser is that browser started again.
        self._profile = profile or tempfile.TemporaryDirectory(prefix=f"caseflag-chromium-{lang}-")
        hosts = SITE_HOSTS if LONGEST_HOST in SITE_HOSTS else (*SITE_HOSTS, LONGEST_HOST)
        rules = ",".join([*(f"MAP {host} 127.0.0.1" for host in hosts), f"MAP {FORM_HOST} ~NOTFOUND"])
        self.context = playwright.chromium.launch_persistent_context(
            self._profile.name,
            executable_path=str(CHROMIUM),
            headless=True,
            # The UI language of the extension's strings comes from --lang; locale sets the
            # language that pages (the popup) report, as a browser in that language would.
            locale="de-DE" if lang == "de" else "en-US",
            viewport={"width": 1000, "height": 700},
            ignore_default_args=["--disable-extensions"],
            args=[
                f"--disable-extensions-except={extension_dir}",
                f"--load-extension={extension_dir}",
                f"--host-resolver-rules={rules}",
                f"--lang={lang}",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                # the page server's https port has a self-signed certificate (see PageServer)
                "--ignore-certificate-errors",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        workers = self.context.service_workers
        self.worker = workers[0] if workers else self.context.wait_for_event("serviceworker", timeout=15_000)
        self.extension_id = urlsplit(self.worker.url).hostname
        # A new install opens the welcome page once; the tests that count tabs start without it.
        # What was seen is kept for the tests of that page.
        self.first_run_pages = self.wait_first_run() if profile is None else self.first_run_tabs()
        self.close_first_run()

    def first_run_tabs(self) -> list[str]:
        """Addresses of the tabs showing the welcome page. The worker sees them (Playwright does
        not list a tab the extension opened itself), and the URL of the extension's own page
        needs no permission to read."""
        return [tab["url"] for tab in self._first_run_tabs()]

    def _first_run_tabs(self) -> list[dict]:
        return self.worker.evaluate(
            """(path) => chrome.tabs.query({}).then((tabs) => tabs
                 .map((tab) => ({ id: tab.id, url: tab.url || tab.pendingUrl || "" }))
                 .filter((tab) => tab.url === chrome.runtime.getURL(path)))""",
            FIRST_RUN_PATH,
        )

    def wait_first_run(self, timeout: float = CHECK_TIMEOUT) -> list[str]:
        """The welcome pages open after the install (onInstalled comes a moment after start-up)."""
        deadline = time.monotonic() + timeout
        while not self.first_run_tabs() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a second one, were it opened, would show by now
        return self.first_run_tabs()

    def close_first_run(self) -> None:
        ids = [tab["id"] for tab in self._first_run_tabs()]
        if ids:
            self.worker.evaluate("(ids) => chrome.tabs.remove(ids)", ids)

    # ---- options and storage --------------------------------------------------------------------

    def reset(self, backend_url: str | None = None, **options) -> None:
        """Forgets every stored answer, tab and downloaded list, then sets the options: server mode
        at backend_url when one is given, else the built-in list (defaults plus these options)."""
        settings = {"mode": "server" if backend_url else "builtin", "enabled": True, "pausedSites": [],
                    "checkPrivate": False}
        if backend_url:
            settings["backendUrl"] = backend_url
        settings.update(options)
        self.worker.evaluate("() => Promise.all([chrome.storage.session.clear(), chrome.storage.local.clear()])")
        self.worker.evaluate("(settings) => chrome.storage.local.set(settings)", settings)
        # The worker reacts to option changes asynchronously (it drops stored answers); let it finish
        # before the test navigates, so that reaction cannot race the test's own checks.
        time.sleep(0.3)

    def stored_answers(self) -> dict:
        return self.worker.evaluate(
            """async () => Object.fromEntries(Object.entries(await chrome.storage.session.get(null))
                 .filter(([key]) => key.startsWith("host:")))"""
        )

    # ---- tabs and the toolbar button --------------------------------------------------------------

    def open(self, host: str, path: str = "/some/path?secret=s3cr3t#frag", secure: bool = False):
        page = self.context.new_page()
        page.goto(self.pages.url(host, path, secure))
        return page

    def tab_id(self, host: str) -> int:
        """The id of the (newest) tab showing host, found through webNavigation."""
        deadline = time.monotonic() + CHECK_TIMEOUT
        while time.monotonic() < deadline:
            tab_id = self.worker.evaluate(
                """async (host) => {
                     let found = null;
                     for (const tab of await chrome.tabs.query({})) {
                       const frame = await chrome.webNavigation.getFrame({ tabId: tab.id, frameId: 0 });
                       const url = frame?.url.startsWith("http") ? new URL(frame.url) : null;
                       if (url?.hostname === host) found = tab.id;
                     }
                     return found;
                   }""",
                host,
            )
            if tab_id is not None:
                return tab_id
            time.sleep(0.1)
        raise AssertionError(f"no tab shows {host}")

    def action(self, tab_id: int) -> dict:
        # The three are read one after another while the extension may be updating them. It sets
        # the title last, so the title is read first and again at the end, until both agree: a
        # title that names the verdict then comes with that verdict's badge.
        deadline = time.monotonic() + CHECK_TIMEOUT
        while True:
            state = self.worker.evaluate(
                """async (tabId) => {
                     const title = await chrome.action.getTitle({ tabId });
                     const text = await chrome.action.getBadgeText({ tabId });
                     const color = await chrome.action.getBadgeBackgroundColor({ tabId });
                     const again = await chrome.action.getTitle({ tabId });
                     return { text, color, title, steady: again === title };
                   }""",
                tab_id,
            )
            if state.pop("steady") or time.monotonic() > deadline:
                return state
            time.sleep(0.05)

    def message(self, key: str, *substitutions: str) -> str:
        return self.worker.evaluate(
            "([key, subs]) => chrome.i18n.getMessage(key, subs)", [key, list(substitutions)]
        )

    def wait_checked(self, tab_id: int, host: str, title: str | None = None) -> dict:
        """The toolbar state once the tab's check of host has finished, or shows exactly title."""
        checking = self.message("titleChecking", host)
        deadline = time.monotonic() + CHECK_TIMEOUT
        state = None
        while time.monotonic() < deadline:
            state = self.action(tab_id)
            done = state["title"] == title if title else host in state["title"] and state["title"] != checking
            if done:
                # The worker sets the title last, but action() reads the badge first: read it all
                # again, so that a badge set between the two reads is not missed.
                return self.action(tab_id)
            time.sleep(0.1)
        raise AssertionError(f"the check of {host} did not finish; toolbar state: {state}")

    def visit(self, host: str, path: str = "/some/path?secret=s3cr3t#frag", secure: bool = False):
        """Opens host in a new tab and waits for its verdict: (page, tab id, toolbar state)."""
        page = self.open(host, path, secure)
        tab_id = self.tab_id(host)
        return page, tab_id, self.wait_checked(tab_id, host)

    # ---- the worker's life ----------------------------------------------------------------------

    def stop_worker(self) -> None:
        """Stops the service worker as the browser does when it is idle (through DevTools)."""
        page = self.context.new_page()
        page.goto(self.extension_url("options/options.html"))
        session = self.context.new_cdp_session(page)
        session.send("ServiceWorker.enable")
        session.send("ServiceWorker.stopAllWorkers")
        session.detach()
        page.close()

    def wake_worker(self) -> None:
        """Makes sure the worker runs again (calls into a stopped one would wait for ever)."""
        page = self.context.new_page()
        page.goto(self.extension_url("options/options.html"))
        page.evaluate("() => chrome.runtime.sendMessage({ type: 'getTabView', tabId: 0 })")
        page.close()

    # ---- extension pages ------------------------------------------------------------------------

    def extension_url(self, path: str) -> str:
        return f"chrome-extension://{self.extension_id}/{path}"

    def popup(self, tab_id: int):
        """The popup for a tab, opened as a page 360 px wide, once it has rendered."""
        page = self.context.new_page()
        page.set_viewport_size({"width": 360, "height": 600})
        page.goto(self.extension_url(f"popup/popup.html?tab={tab_id}"))
        page.wait_for_selector("#loading", state="hidden")
        return page

    def close_pages(self) -> None:
        """Closes every tab but the first (closing the last one could end the browser)."""
        for page in self.context.pages[1:]:
            page.close()

    def close(self, keep_profile: bool = False):
        """Ends the browser; with keep_profile, returns its profile for an ExtensionBrowser to restart."""
        self.context.close()
        if keep_profile:
            return self._profile
        self._profile.cleanup()
        return None


# Package scope, not session: Playwright's sync API keeps an asyncio loop running on the main thread,
# and code that calls asyncio.run() (the service, in other tests) must not run while it lives.
@pytest.fixture(scope="package")
def playwright_instance():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
            "(make system-deps, or apt-get install chromium; CASEFLAG_CHROMIUM points elsewhere)",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]' (never `playwright install`)",
                    pytrace=False)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def page_server():
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser_en(playwright_instance, page_server):
    browser = ExtensionBrowser(playwright_instance, "en", page_server)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_de(playwright_instance, page_server):
    browser = ExtensionBrowser(playwright_instance, "de", page_server)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_granted(playwright_instance, page_server, tmp_path_factory):
    """English, the copy of the extension with the connection permission granted (see granted_copy)."""
    extension = granted_copy(tmp_path_factory.mktemp("granted") / "extension")
    browser = ExtensionBrowser(playwright_instance, "en", page_server, extension)
    yield browser
    browser.close()


@pytest.fixture
def browser(browser_en):
    """The English browser in built-in mode (a fresh install's), nothing stored; pages closed after."""
    browser_en.reset()
    yield browser_en
    browser_en.close_pages()


@pytest.fixture
def server_browser(browser_en, live_server):
    """The English browser asking a fresh real backend, with no stored answers; pages closed after."""
    browser_en.reset(live_server.url)
    yield browser_en
    browser_en.close_pages()


@pytest.fixture
def fake_server():
    server = FakeCaseflag()
    yield server
    server.stop()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
