"""P6: in Chromium, the time from a page's navigation commit to its verdict on the toolbar button,
with the built-in list against server mode asking `caseflag serve` on loopback.

    python bench/p6_badge.py [--rounds 3] [--per-round 10]

The real extension runs in Debian's Chromium (headless, driven by Playwright, as the browser tests
do). Inside the service worker the bench listens to webNavigation.onCommitted and wraps
chrome.action.setTitle, which the worker calls last, once the badge shows the verdict; both read the
worker's own clock. Every navigation goes to a name not seen before and the worker's stored answers
are dropped first, so each one is a cold check in either mode. Rounds alternate the modes. The
server runs with DNS off (CASEFLAG_DNS_ENABLED=false): both sides then match the same list, and the
ratio is the price of the round trip (P2 measures DNS). Nothing leaves the machine.

Called by bench/run.py (`--only p6`); returns its rows as dicts of run.Row's fields.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
EXTENSION = REPO / "extension"
CHROMIUM = Path(os.environ.get("CASEFLAG_CHROMIUM", "/usr/bin/chromium"))
CASEFLAG = str(Path(sys.executable).with_name("caseflag"))
# One listed target, one party, one unlisted; each visit adds a fresh subdomain label.
SITES = ("thepiratebay.org", "riaa.com", "plain-site.org")

INSTRUMENT = """() => {
  if (globalThis.p6) return;
  const p6 = (globalThis.p6 = { commits: {}, titles: [] });
  chrome.webNavigation.onCommitted.addListener((d) => {
    if (d.frameId === 0) p6.commits[d.tabId + " " + new URL(d.url).hostname] = performance.now();
  });
  const setTitle = chrome.action.setTitle.bind(chrome.action);
  chrome.action.setTitle = (details) => {
    p6.titles.push({ tabId: details.tabId, title: details.title, at: performance.now() });
    return setTitle(details);
  };
}"""

RESULT = """([tabId, host, checking]) => {
  const commit = globalThis.p6.commits[tabId + " " + host];
  const done = globalThis.p6.titles.find((t) => t.tabId === tabId && t.at >= commit && t.title.includes(host)
                                                 && t.title !== checking);
  return commit === undefined || !done ? null : done.at - commit;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Pages:
    """A page for any host, on loopback."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = b"<!doctype html><title>p6</title><p>p6"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_server(port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "CASEFLAG_PORT": str(port), "CASEFLAG_DNS_ENABLED": "false", "CASEFLAG_RATE_LIMIT": "",
           "CASEFLAG_RELOAD_INTERVAL": "0"}
    process = subprocess.Popen([CASEFLAG, "serve", "--workers", "2"], env=env, cwd=REPO, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"caseflag serve did not start:\n{log.read_text(errors='replace')[-2000:]}")


def measure(rounds: int, per_round: int) -> dict:
    from playwright.sync_api import sync_playwright

    pages = Pages()
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="caseflag-p6-"))
    server = start_server(port, log_dir / "server.log")
    profile = tempfile.TemporaryDirectory(prefix="caseflag-p6-chromium-")
    times = {"builtin": [], "server": []}
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile.name, executable_path=str(CHROMIUM), headless=True,
                ignore_default_args=["--disable-extensions"],
                args=[f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}",
                      "--host-resolver-rules=MAP * 127.0.0.1", "--no-sandbox", "--disable-gpu", "--disable-quic",
                      "--no-first-run", "--disable-background-networking", "--disable-component-update",
                      "--disable-sync"])
            worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
            worker.evaluate(INSTRUMENT)
            page = context.new_page()
            visit = 0
            for round_number in range(rounds):
                for mode in ("builtin", "server") if round_number % 2 == 0 else ("server", "builtin"):
                    settings = {"mode": mode, "backendUrl": f"http://127.0.0.1:{port}"}
                    worker.evaluate("(s) => chrome.storage.local.set(s)", settings)
                    time.sleep(0.3)
                    # One warm-up visit per switch: the first built-in check after a change prepares the list.
                    for n in range(per_round + 1):
                        visit += 1
                        host = f"p6-{visit}.{SITES[visit % len(SITES)]}"
                        worker.evaluate("""async () => {
                          const all = await chrome.storage.session.get(null);
                          await chrome.storage.session.remove(Object.keys(all).filter((k) => k.startsWith("host:")));
                        }""")
                        page.goto(f"http://{host}:{pages.port}/")
                        tab = worker.evaluate("async () => (await chrome.tabs.query({ active: true })).at(-1).id")
                        checking = worker.evaluate("(h) => chrome.i18n.getMessage('titleChecking', [h])", host)
                        elapsed = None
                        deadline = time.monotonic() + 15
                        while elapsed is None and time.monotonic() < deadline:
                            elapsed = worker.evaluate(RESULT, [tab, host, checking])
                            if elapsed is None:
                                time.sleep(0.01)
                        if elapsed is None:
                            raise RuntimeError(f"no verdict for {host} in {mode} mode")
                        if n:
                            times[mode].append(elapsed)
            context.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=15)
        pages.stop()
        profile.cleanup()
    return times


def p6(rounds: int = 3, per_round: int = 10) -> list[dict]:
    if not CHROMIUM.exists():
        return [{"name": "P6", "what": f"skipped: {CHROMIUM} not found", "measured": "", "baseline": "",
                 "ratio": None, "target": "≤ 1", "met": None}]
    times = measure(rounds, per_round)
    builtin, server = statistics.median(times["builtin"]), statistics.median(times["server"])
    ratio = builtin / server

    def spread(values: list[float]) -> str:
        q = statistics.quantiles(values, n=10)
        return f"p10 {q[0]:.1f}, p90 {q[-1]:.1f} ms"

    return [{"name": "P6", "what": "navigation commit → verdict on the toolbar button in Chromium, built-in list "
                                   "÷ server mode (caseflag serve on loopback, DNS off), each check cold",
             "measured": f"{builtin:.1f} ms", "baseline": f"{server:.1f} ms", "ratio": ratio,
             "target": "≤ 1", "met": ratio <= 1,
             "note": f"medians of {len(times['builtin'])} navigations per mode in {rounds} alternating rounds; "
                     f"built-in {spread(times['builtin'])}; server {spread(times['server'])}"}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=10)
    args = parser.parse_args()
    for row in p6(args.rounds, args.per_round):
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else ""
        print(f"{row['name']}: {row['what']}\n  {row['measured']} vs {row['baseline']}, ratio {ratio} "
              f"(target {row['target']})\n  {row.get('note', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
