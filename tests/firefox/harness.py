"""Real Firefox ESR for the extension tests: a fresh profile, Marionette on a free port, the
extension as a temporary add-on, and helpers that ask the extension itself (never a mock).

How each step works, and why (Firefox 153 ESR, marionette-driver 3.7):

- Firefox is started by hand (`--headless --marionette -remote-allow-system-access -profile DIR
  --no-remote`) in its own process group; `marionette.port` in the profile's user.js gives each
  run its own port, and the session checks that the Firefox it reached uses *this* profile.
- Test hostnames resolve to 127.0.0.1 through `network.dns.localDomains` (a comma-separated list
  of names Firefox answers as localhost itself); every other name still goes to the system resolver.
- `extensions.webextensions.uuids` fixes the moz-extension:// host, so extension pages have a
  known address.
- Extension pages may not be opened from a content context; the chrome context (allowed by
  `-remote-allow-system-access`) opens them with `gBrowser.addTab(url, {triggeringPrincipal:
  system})`. Scripts run in them with `sandbox=None`, so that they see the page's own `browser`.
- Helpers that only read (badge, storage, messages) run in the extension's background script
  shown as a plain-text document: a moz-extension:// page that gets the `browser` API but runs
  no code of its own, so it asks no server and changes no state.
- Host permissions: Firefox grants an MV3 add-on's `host_permissions` at install and nothing
  else. grant_origins() grants more as the permission prompt would, with the chrome context's
  `ExtensionPermissions.add(id, {permissions: [], origins}, extension)`: the running extension as
  the third argument updates its policy and fires permissions.onAdded (without it only the stored
  list changes). With `extensions.webextOptionalPermissionPrompts` false, permissions.request()
  from a real click (Marionette's) is granted without a doorhanger; outside a user action Firefox
  still refuses it.
- The background is an event page; `extension.terminateBackground()` in the chrome context stops
  it as idling does, and `extension.backgroundState` tells its state.
- An MV3 action button lives in the extensions panel, which is not built until it opens;
  `CustomizableUI.addWidgetToArea(<widget id>, AREA_NAVBAR)` pins it so its badge can be read.
- Debian's firefox-esr ships only en-US; a German profile requests `de` (`intl.locale.requested`,
  `intl.accept_languages`) and the chrome context adds `de` to `Services.locale.availableLocales`
  before the add-on is installed, which is what a German langpack would do for the extension's
  `_locales` (Firefox negotiates an add-on's locale against the app locales at its start-up).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The unpacked extension under test; CASEFLAG_EXTENSION_DIR points at another copy (e.g. a build).
EXTENSION_DIR = Path(os.environ.get("CASEFLAG_EXTENSION_DIR", ROOT / "extension"))
ARTIFACTS_DIR = ROOT / "test-artifacts"
FIREFOX = Path(os.environ.get("CASEFLAG_FIREFOX", "/usr/bin/firefox-esr"))
MANIFEST = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
EXTENSION_ID = MANIFEST["browser_specific_settings"]["gecko"]["id"]
# Any fixed UUID will do; it only has to be the same for the profile and the tests.
EXTENSION_UUID = "5c0f1a9e-0d3b-4c55-9a7e-2f3c6a1b7d42"
EXTENSION_ORIGIN = f"moz-extension://{EXTENSION_UUID}"
# The welcome page the extension opens once, when it is installed.
FIRST_RUN_URL = f"{EXTENSION_ORIGIN}/firstrun/firstrun.html"
# The issue form "Report a problem with this listing" opens (extension/project.json, made from
# pyproject.toml). Its host is one of the profile's local names, so the tab that asks for it
# reaches loopback (where nothing answers), never the network.
PROJECT = json.loads((EXTENSION_DIR / "project.json").read_text(encoding="utf-8"))

# Every wait is bounded by one of these (seconds).
START_TIMEOUT = 60.0
SCRIPT_TIMEOUT = 20.0
PAGE_TIMEOUT = 20.0
CHECK_TIMEOUT = 15.0
QUIT_TIMEOUT = 10.0

# Keep Firefox quiet on the network and out of the way of tests: no first-run pages, updates,
# telemetry, remote settings, captive-portal or connectivity probes, safe-browsing updates, and no
# HTTPS-First upgrade of the test sites' http:// addresses.
QUIET_PREFS = {
    "app.normandy.api_url": "",
    "app.update.disabledForTesting": True,
    "app.update.auto": False,
    "browser.aboutwelcome.enabled": False,
    "browser.discovery.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.feeds.system.topstories": False,
    "browser.newtabpage.activity-stream.showSponsoredTopSites": False,
    "browser.ping-centre.telemetry": False,
    "browser.region.network.url": "",
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "browser.search.update": False,
    "browser.sessionstore.resume_from_crash": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.tabs.warnOnClose": False,
    "browser.topsites.contile.enabled": False,
    "browser.translations.enable": False,
    "browser.uitour.enabled": False,
    "browser.urlbar.suggest.searches": False,
    "browser.warnOnQuit": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.policy.dataSubmissionPolicyBypassNotification": True,
    "dom.push.connection.enabled": False,
    "dom.security.https_first": False,
    "dom.security.https_first_schemeless": False,
    "dom.security.https_only_mode": False,
    # Some listed names (cloudflare.com) are on the HSTS preload list; the test sites speak http.
    "network.stricttransportsecurity.preloadlist": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.update.enabled": False,
    "geo.provider.network.url": "",
    "media.gmp-manager.updateEnabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.http.speculative-parallel-limit": 0,
    "network.prefetch-next": False,
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "startup.homepage_welcome_url": "about:blank",
    "startup.homepage_welcome_url.additional": "",
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.server": "",
    "toolkit.startup.max_resumed_crashes": -1,
}

# permissions.request() (the settings page asks for a server's host when it is saved) would open
# a doorhanger that no test can click; with this pref off, Firefox grants what is asked for
# without one. The call still has to come from a user action (a Marionette click is one).
PROMPT_PREFS = {"extensions.webextOptionalPermissionPrompts": False}

LANGUAGE_PREFS = {
    "en": {"intl.locale.requested": "en-US", "intl.accept_languages": "en-US, en"},
    "de": {"intl.locale.requested": "de", "intl.accept_languages": "de-DE, de"},
}


class FirefoxError(RuntimeError):
    pass


def marionette_driver():
    """The marionette_driver package. Its import pulls in mozrunner and mozversion, which call
    distro.linux_distribution() (a DeprecationWarning, an error under this suite's filterwarnings);
    that warning is the package's own business, so it is silenced for the import only."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import marionette_driver.addons
        import marionette_driver.marionette
    return marionette_driver


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def messages(lang: str) -> dict[str, str]:
    """The extension's own strings for a language, read from disk (independent of the browser)."""
    path = EXTENSION_DIR / "_locales" / lang / "messages.json"
    return {key: entry["message"] for key, entry in json.loads(path.read_text(encoding="utf-8")).items()}


def fill(message: str, **values: str) -> str:
    """A message from messages() with its $NAME$ placeholders filled in."""
    for name, value in values.items():
        message = message.replace(f"${name.upper()}$", value)
    return message


def extension_errors(console: list[dict]) -> list[dict]:
    """From Firefox.console_messages(): errors in the extension's own files (uncaught exceptions,
    rejected promises, modules that failed to load) and Firefox's complaints about its manifest."""
    return [
        m for m in console
        if (m["error"] and m["source"].startswith(EXTENSION_ORIGIN) and not _unloaded_mid_call(m))
        or ("Loading failed for the module" in m["text"] and EXTENSION_ORIGIN in m["text"])
        or "Reading manifest" in m["text"]
    ]


def _unloaded_mid_call(message: dict) -> bool:
    """Firefox's own note that an API call of the event page settled after the page was unloaded
    ("Promise resolved after context unloaded", or "Promise rejected after context unloaded: …").
    A test that stops the event page (terminateBackground) while it is at work causes it; the
    browser drops the answer, and the woken page starts again from storage, as the test checks."""
    return message["text"].startswith(("Promise resolved after context unloaded",
                                       "Promise rejected after context unloaded"))


def builtin_index() -> dict:
    """The bundled list's version and date, as the extension ships it."""
    data = json.loads((EXTENSION_DIR / "data" / "index.json").read_text(encoding="utf-8"))
    return {"version": data["version"], "date": data["date"]}


class Firefox:
    """One headless Firefox ESR with a fresh profile, driven over Marionette."""

    def __init__(self, lang: str = "en", hosts: tuple[str, ...] = (), prefs: dict | None = None) -> None:
        self.lang = lang
        self.hosts = tuple(hosts)
        self.extra_prefs = dict(prefs or {})
        self.profile = Path(tempfile.mkdtemp(prefix=f"caseflag-firefox-{lang}-"))
        self.log_path = self.profile.parent / (self.profile.name + ".log")
        self.proc: subprocess.Popen | None = None
        self.client = None
        self.port: int | None = None
        self.addon_id: str | None = None
        self.first_run_pages: list[str] = []
        self._probe: str | None = None

    # ---- life -----------------------------------------------------------------------------------

    def start(self, attempts: int = 3) -> Firefox:
        last: Exception | None = None
        for _ in range(attempts):
            try:
                self._start_once()
                return self
            except Exception as err:  # noqa: BLE001 (a port taken meanwhile: try a fresh one)
                last = err
                self._drop_client()
                self._kill()
        raise FirefoxError(f"Firefox did not start: {last}\n--- its output ---\n{self.log_tail()}") from last

    def _prefs(self) -> dict:
        prefs = dict(QUIET_PREFS)
        prefs.update(PROMPT_PREFS)
        prefs.update(LANGUAGE_PREFS[self.lang])
        prefs["marionette.port"] = self.port
        prefs["extensions.webextensions.uuids"] = json.dumps({EXTENSION_ID: EXTENSION_UUID})
        if self.hosts:
            prefs["network.dns.localDomains"] = ",".join(self.hosts)
        prefs.update(self.extra_prefs)
        return prefs

    def _start_once(self) -> None:
        Marionette = marionette_driver().marionette.Marionette  # noqa: N806

        self.port = free_port()
        with open(self.profile / "user.js", "w", encoding="utf-8") as out:
            for key, value in self._prefs().items():
                out.write(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n")
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [str(FIREFOX), "--headless", "--marionette", "-remote-allow-system-access",
                 "-profile", str(self.profile), "--no-remote", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"},
                start_new_session=True,  # its own process group: teardown ends content processes too
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise FirefoxError(f"Firefox exited with {self.proc.returncode} before Marionette listened")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise FirefoxError(f"Marionette did not listen on port {self.port} within {START_TIMEOUT} s")
                time.sleep(0.2)
        self.client = Marionette(host="127.0.0.1", port=self.port, socket_timeout=SCRIPT_TIMEOUT + 10)
        self.client.start_session(timeout=START_TIMEOUT)
        self.client.timeout.script = SCRIPT_TIMEOUT
        self.client.timeout.page_load = PAGE_TIMEOUT
        # Another run's Firefox could hold the port we picked; make sure this one is ours.
        with self.client.using_context("chrome"):
            profile = self.client.execute_script('return Services.dirsvc.get("ProfD", Ci.nsIFile).path')
        if Path(profile).resolve() != self.profile.resolve():
            raise FirefoxError(f"port {self.port} reached a Firefox with another profile ({profile})")
        if self.lang != "en":
            self.chrome(
                "const [lang] = arguments;"
                "Services.locale.availableLocales = [...new Set([...Services.locale.availableLocales, lang])];"
                "Services.locale.requestedLocales = [lang];",
                self.lang,
            )
        self.main_window = self.client.current_window_handle

    def close(self) -> None:
        """Ends Firefox (bounded waits) and removes its profile. Safe to call twice."""
        self._drop_client()
        self._kill()
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)

    def _drop_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            # Only the connection is closed here (Firefox is killed next): no request that could
            # wait on a stuck browser. cleanup_ran stops the client's __del__ from reconnecting
            # to a closed port to delete the session again.
            client.cleanup_ran = True
            try:
                client.delete_session(send_request=False)
            except Exception:  # noqa: BLE001 (the socket may be gone already)
                pass

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=QUIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=QUIT_TIMEOUT)
        except ProcessLookupError:
            pass
        try:  # content processes of the group that outlived the parent
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    # ---- scripts --------------------------------------------------------------------------------

    def chrome(self, script: str, *args):
        with self.client.using_context("chrome"):
            return self.client.execute_script(script, script_args=list(args))

    def chrome_async(self, script: str, *args):
        """Runs an async chrome-context function body; `args` are its arguments."""
        with self.client.using_context("chrome"):
            return _checked(self.client.execute_async_script(_async_body(script), script_args=list(args)))

    def in_page(self, handle: str, script: str, *args):
        """Runs an async function body in the page of tab `handle`, in the page's own global."""
        self.client.switch_to_window(handle, focus=False)
        return _checked(
            self.client.execute_async_script(_async_body(script), script_args=list(args), sandbox=None)
        )

    def ext(self, script: str, *args):
        """Runs an async function body in an extension page that has no code of its own."""
        if self._probe is None or self._probe not in self.client.window_handles:
            self._probe = self.open_tab(self.extension_url(MANIFEST["background"]["scripts"][0]))
        return self.in_page(self._probe, script, *args)

    # ---- the add-on ------------------------------------------------------------------------------

    def install_extension(self, path: Path = EXTENSION_DIR) -> str:
        """Installs the add-on. The install opens the welcome page; what opened is kept in
        first_run_pages (for the tests of that page), then closed, so that tests start with the
        tabs they open themselves."""
        Addons = marionette_driver().addons.Addons  # noqa: N806

        self.addon_id = Addons(self.client).install(str(path), temp=True)
        self.first_run_pages = self.wait_first_run()
        self.close_first_run()
        return self.addon_id

    def first_run_tabs(self) -> list[str]:
        """Addresses of the tabs that show (or are loading) the welcome page."""
        return self.chrome(
            """const [url] = arguments;
               return gBrowser.tabs.map((tab) => tab.linkedBrowser.currentURI.spec)
                 .filter((spec) => spec === url);""",
            FIRST_RUN_URL,
        )

    def wait_first_run(self, timeout: float = CHECK_TIMEOUT) -> list[str]:
        deadline = time.monotonic() + timeout
        while not self.first_run_tabs() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a second one, were it opened, would show by now
        return self.first_run_tabs()

    def close_first_run(self) -> None:
        self.chrome(
            """const [url] = arguments;
               for (const tab of [...gBrowser.tabs]) {
                 if (tab.linkedBrowser.currentURI.spec === url) gBrowser.removeTab(tab);
               }""",
            FIRST_RUN_URL,
        )

    def tab_urls(self) -> list[str]:
        """The address of every tab (the chrome context sees those a content context may not)."""
        return self.chrome("return gBrowser.tabs.map((tab) => tab.linkedBrowser.currentURI.spec);")

    def console_messages(self) -> list[dict]:
        """Everything in the browser console so far, as {text, source, error, warning}."""
        return self.chrome(
            """return Services.console.getMessageArray().map((m) => {
                 const script = m instanceof Ci.nsIScriptError ? m : null;
                 return {
                   text: script ? script.errorMessage : m.message,
                   source: script ? script.sourceName : "",
                   error: script ? !(script.flags & Ci.nsIScriptError.warningFlag) : false,
                   warning: script ? Boolean(script.flags & Ci.nsIScriptError.warningFlag) : false,
                 };
               });"""
        )

    def grant_origins(self, *origins: str) -> None:
        """Grants optional host permissions as the person would in the permission prompt."""
        self.chrome_async(
            """const [id, origins] = args;
               const { ExtensionPermissions } = ChromeUtils.importESModule(
                 "resource://gre/modules/ExtensionPermissions.sys.mjs");
               // The running extension is the emitter: it updates its policy (what fetch and
               // permissions.getAll see) and fires permissions.onAdded, as after a prompt.
               const extension = WebExtensionPolicy.getByID(id).extension;
               await ExtensionPermissions.add(id, { permissions: [], origins }, extension);
               return true;""",
            self.addon_id, list(origins),
        )

    def grant_send_consent(self) -> None:
        """Gives the consent to send the sites visited (the manifest's optional data collection,
        browsingActivity), as the person does in the prompt that saving a server's address opens."""
        self.chrome_async(
            """const [id] = args;
               const { ExtensionPermissions } = ChromeUtils.importESModule(
                 "resource://gre/modules/ExtensionPermissions.sys.mjs");
               const extension = WebExtensionPolicy.getByID(id).extension;
               await ExtensionPermissions.add(
                 id, { permissions: [], origins: [], data_collection: ["browsingActivity"] }, extension);
               return true;""",
            self.addon_id,
        )

    def send_consent(self) -> bool:
        return self.ext("return await browser.permissions.contains({ data_collection: ['browsingActivity'] });")

    def background_state(self) -> str:
        """"running", "suspending", "stopped" or "starting": the MV3 event page's state."""
        return self.chrome("return WebExtensionPolicy.getByID(arguments[0]).extension.backgroundState;",
                           self.addon_id)

    def stop_background(self) -> None:
        """Stops the event page as Firefox does when it has been idle (about:debugging's
        "Terminate background script" does the same); the next event starts it again. A late
        event of the last page (its favicon, say) may start it again at once: then it is stopped
        again, a few times at most."""
        for _ in range(5):
            state = self.chrome_async(
                """const extension = WebExtensionPolicy.getByID(args[0]).extension;
                   await extension.terminateBackground();
                   return extension.backgroundState;""",
                self.addon_id,
            )
            if state == "stopped":
                return
            time.sleep(0.3)
        raise FirefoxError(f"the background script is {state!r} after terminateBackground()")

    def revoke_granted_origins(self) -> None:
        """Takes back every optional permission, host and data-collection consent granted after
        the install (as about:addons does)."""
        self.chrome_async(
            """const [id, kept, optional] = args;
               const { ExtensionPermissions } = ChromeUtils.importESModule(
                 "resource://gre/modules/ExtensionPermissions.sys.mjs");
               const extension = WebExtensionPolicy.getByID(id).extension;
               const { permissions, origins, data_collection = [] } = await ExtensionPermissions.get(id);
               const extra = {
                 permissions: permissions.filter((name) => optional.includes(name)),
                 origins: origins.filter((origin) => !kept.includes(origin)),
                 data_collection,
               };
               if (extra.permissions.length || extra.origins.length || extra.data_collection.length) {
                 await ExtensionPermissions.remove(id, extra, extension);
               }
               return true;""",
            self.addon_id, MANIFEST.get("host_permissions", []), MANIFEST.get("optional_permissions", []),
        )

    def extension_url(self, path: str) -> str:
        return f"{EXTENSION_ORIGIN}/{path.lstrip('/')}"

    # ---- tabs -------------------------------------------------------------------------------------

    def open_tab(self, url: str) -> str:
        """Opens url in a new, selected tab (from the chrome context); returns its window handle
        once the page has loaded."""
        before = set(self.client.window_handles)
        self.chrome(
            """const [url] = arguments;
               const tab = gBrowser.addTab(url, {
                 triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal(),
               });
               gBrowser.selectedTab = tab;""",
            url,
        )
        deadline = time.monotonic() + PAGE_TIMEOUT
        while True:
            new = [handle for handle in self.client.window_handles if handle not in before]
            if new:
                handle = new[0]
                break
            if time.monotonic() > deadline:
                raise FirefoxError(f"no tab opened for {url}")
            time.sleep(0.05)
        self.client.switch_to_window(handle, focus=False)
        while True:
            try:
                state = self.client.execute_script("return document.readyState + ' ' + location.href") or ""
            except Exception:  # noqa: BLE001 (the tab is between documents)
                state = ""
            ready, _, href = state.partition(" ")
            if ready == "complete" and href != "about:blank":
                return handle
            if time.monotonic() > deadline:
                raise FirefoxError(f"{url} did not load within {PAGE_TIMEOUT} s (last: {state!r})")
            time.sleep(0.05)

    def close_tab(self, handle: str) -> None:
        if handle in self.client.window_handles:
            self.client.switch_to_window(handle, focus=False)
            self.client.close()
        self.client.switch_to_window(self.main_window, focus=False)

    def close_tabs(self) -> None:
        """Closes every tab but the first one (closing the last would end the browser)."""
        for handle in self.client.window_handles:
            if handle != self.main_window:
                self.close_tab(handle)
        self._probe = None

    def screenshot(self, handle: str, path: Path) -> None:
        """A PNG of the whole page, scrolled content included. Firefox keeps a window at least
        about 490 px wide, so right of the 360 px popup is blank; the popup's own box scrolls
        (max-height), so a screenshot of <body> would cut it."""
        self.client.switch_to_window(handle, focus=False)
        png = self.client.screenshot(format="base64", full=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(png))

    # ---- the extension's state --------------------------------------------------------------------

    def reset(self, **settings) -> None:
        """As a fresh install: no tabs, no host permission granted since, no stored options or
        answers; then these options saved."""
        self.close_tabs()
        self.revoke_granted_origins()
        self.ext(
            """const [settings] = args;
               await browser.storage.session.clear();
               await browser.storage.local.clear();
               if (Object.keys(settings).length) await browser.storage.local.set(settings);
               return true;""",
            settings,
        )
        # The background script reacts to option changes asynchronously (it drops stored answers);
        # let it finish before the test navigates.
        time.sleep(0.3)

    def set_options(self, **settings) -> None:
        self.ext("await browser.storage.local.set(args[0]); return true;", settings)
        time.sleep(0.3)

    def tab_id(self, host: str) -> int:
        """The extension's id for the (newest) tab showing host, found through webNavigation."""
        deadline = time.monotonic() + CHECK_TIMEOUT
        while time.monotonic() < deadline:
            tab_id = self.ext(
                """const [host] = args;
                   let found = null;
                   for (const tab of await browser.tabs.query({})) {
                     const frame = await browser.webNavigation.getFrame({ tabId: tab.id, frameId: 0 });
                     const url = frame?.url?.startsWith("http") ? new URL(frame.url) : null;
                     if (url?.hostname === host) found = tab.id;
                   }
                   return found;""",
                host,
            )
            if tab_id is not None:
                return tab_id
            time.sleep(0.1)
        raise AssertionError(f"no tab shows {host}")

    def action(self, tab_id: int) -> dict:
        """The toolbar button of a tab as the extension API reports it. The three are read one
        after another while the extension may be updating them; it sets the title last, so the
        title is read first and again at the end, and the reads repeat until both agree."""
        deadline = time.monotonic() + CHECK_TIMEOUT
        while True:
            state = self.ext(
                """const [tabId] = args;
                   const title = await browser.action.getTitle({ tabId });
                   const text = await browser.action.getBadgeText({ tabId });
                   const color = await browser.action.getBadgeBackgroundColor({ tabId });
                   const again = await browser.action.getTitle({ tabId });
                   return { text, color, title, steady: again === title };""",
                tab_id,
            )
            if state.pop("steady") or time.monotonic() > deadline:
                return state
            time.sleep(0.05)

    def toolbar_button(self, handle: str) -> dict:
        """The extension's button in Firefox's own toolbar while the tab `handle` is selected:
        {badge, tooltip, style} as the browser draws it. An MV3 button starts in the extensions
        panel (not built until that opens), so it is pinned to the navigation bar first, as a
        person would pin it."""
        self.client.switch_to_window(handle, focus=True)  # selects the tab
        return self.chrome(
            """const [id] = arguments;
               const widget = id.toLowerCase().replace(/[^a-z0-9_-]/g, "_") + "-browser-action";
               if (!CustomizableUI.getPlacementOfWidget(widget)
                   || CustomizableUI.getPlacementOfWidget(widget).area !== CustomizableUI.AREA_NAVBAR) {
                 CustomizableUI.addWidgetToArea(widget, CustomizableUI.AREA_NAVBAR);
               }
               const button = document.getElementById(widget)?.querySelector("toolbarbutton[badged]")
                 ?? document.getElementById(widget)?.querySelector("toolbarbutton");
               if (!button) throw new Error("no toolbar button " + widget);
               return {
                 badge: button.getAttribute("badge") ?? "",
                 tooltip: button.getAttribute("tooltiptext") ?? "",
                 style: button.querySelector(".toolbarbutton-badge")?.getAttribute("style") ?? "",
                 url: gBrowser.selectedBrowser.currentURI.spec,
               };""",
            self.addon_id,
        )

    def wait_toolbar_button(self, handle: str, done, what: str) -> dict:
        """toolbar_button() once done(it) holds (a freshly pinned button fills in a moment later)."""
        deadline = time.monotonic() + CHECK_TIMEOUT
        while True:
            button = self.toolbar_button(handle)
            if done(button):
                return button
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not show within {CHECK_TIMEOUT} s; the button: {button}")
            time.sleep(0.1)

    def wait_action(self, tab_id: int, done, what: str) -> dict:
        deadline = time.monotonic() + CHECK_TIMEOUT
        state = None
        while time.monotonic() < deadline:
            state = self.action(tab_id)
            if done(state):
                return state
            time.sleep(0.1)
        raise AssertionError(f"{what} did not happen within {CHECK_TIMEOUT} s; toolbar state: {state}; "
                             f"{self.diagnosis(tab_id)}")

    def diagnosis(self, tab_id: int) -> str:
        """What the extension holds about a tab, for a failure message: whether the event page
        runs, the tab's record and the answers in storage.session, and the console's last lines."""
        try:
            session = self.stored("session")
            console = [m["text"] for m in self.console_messages()[-8:]]
            return (f"background {self.background_state()}; tab record {session.get(f'tab:{tab_id}')}; "
                    f"stored answers {[key for key in session if key.startswith('host:')]}; console {console}")
        except Exception as err:  # noqa: BLE001 (a diagnosis must not hide the failure it explains)
            return f"no diagnosis: {err}"

    def message(self, key: str, *substitutions: str) -> str:
        """A UI string as the extension resolves it in this browser's language."""
        return self.ext("return browser.i18n.getMessage(args[0], args[1]);", key, list(substitutions))

    def wait_checked(self, tab_id: int, host: str, title: str | None = None) -> dict:
        """The toolbar state once the tab's check of host has finished (its title names host and
        no longer says "checking"), or once the title is exactly `title`."""
        checking = self.message("titleChecking", host)
        if title is not None:
            return self.wait_action(tab_id, lambda s: s["title"] == title, f"the title {title!r}")
        return self.wait_action(
            tab_id, lambda s: host in s["title"] and s["title"] != checking, f"the check of {host}")

    def visit(self, url: str, host: str) -> tuple[str, int, dict]:
        """Opens url in a new tab and waits for the verdict on host: (handle, tab id, toolbar)."""
        handle = self.open_tab(url)
        tab_id = self.tab_id(host)
        return handle, tab_id, self.wait_checked(tab_id, host)

    def stored(self, area: str = "local", prefix: str = "") -> dict:
        return self.ext(
            """const [area, prefix] = args;
               const all = await browser.storage[area].get(null);
               return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(prefix)));""",
            area, prefix,
        )

    def origins_granted(self) -> list[str]:
        return self.ext("return (await browser.permissions.getAll()).origins;")

    def popup(self, tab_id: int, width: int = 360, height: int = 640) -> str:
        """The popup for a tab, opened as a tab page (as the Chromium tests do, with ?tab=<id>),
        once it has rendered; returns its window handle."""
        self.client.set_window_rect(width=width, height=height)
        handle = self.open_tab(self.extension_url(f"popup/popup.html?tab={tab_id}"))
        deadline = time.monotonic() + CHECK_TIMEOUT
        while not self.in_page(handle, 'return document.getElementById("loading").hidden;'):
            if time.monotonic() > deadline:
                raise AssertionError(f"the popup for tab {tab_id} did not render")
            time.sleep(0.1)
        return handle

    def element(self, handle: str, selector: str):
        """A Marionette element of the page in tab `handle` (for clicks and typing, which Firefox
        treats as the person's own input). Other helpers switch tabs, so this switches back."""
        self.client.switch_to_window(handle, focus=False)
        return self.client.find_element("css selector", selector)

    def text_of(self, handle: str, selector: str) -> str | None:
        """innerText of the first element matching selector, or None when it is absent or hidden."""
        return self.in_page(
            handle,
            """const el = document.querySelector(args[0]);
               return el && !el.closest("[hidden]") ? el.innerText : null;""",
            selector,
        )


def _async_body(body: str) -> str:
    """Wraps an async function body for execute_async_script: `args` holds the arguments; the
    result (or the error, raised in Python as a JavascriptException) comes back."""
    return (
        "const done = arguments[arguments.length - 1];"
        "const args = Array.prototype.slice.call(arguments, 0, -1);"
        f"(async () => {{ {body} }})().then(done, (e) => done({{ __error__: String(e && e.stack || e) }}));"
    )


def _checked(result):
    if isinstance(result, dict) and "__error__" in result:
        raise FirefoxError(f"the script failed: {result['__error__']}")
    return result


class RecordingServer:
    """A loopback HTTP server in a thread that records (Host header, request target) of every
    request, whatever its method, and answers with answer(handler) -> (status, type, body)."""

    def __init__(self, answer, cors: bool = True) -> None:
        self.requests: list[tuple[str, str]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def version_string(self) -> str:  # the Server header
                return getattr(self, "server_name", "caseflag-test")

            def _any(self) -> None:
                seen.append((self.headers.get("Host", ""), self.path))
                status, content_type, body, *extra = answer(self)
                headers = dict(extra[0]) if extra else {}
                self.server_name = headers.pop("Server", "caseflag-test")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                # A caseflag server allows the extension's origin; so does this one, so that a
                # request, if the extension made one, would succeed and show in the badge.
                origin = self.headers.get("Origin")
                if origin and cors:
                    self.send_header("Access-Control-Allow-Origin", origin)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = _any  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def clear(self) -> None:
        self.requests.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


PAGE = b"<!doctype html><title>test site</title><p>A page for the caseflag Firefox tests.</p>"


class SiteServer(RecordingServer):
    """Serves a small HTML page for any host and path (the test sites). Hosts named cf-… answer
    as Cloudflare's edge does (`server: cloudflare`, a `cf-ray`), which is what the extension's
    optional connection permission lets it read."""

    def __init__(self) -> None:
        def answer(handler):
            host = handler.headers.get("Host", "")
            if host.startswith(("cf-", "www.cf-")):
                return 200, "text/html; charset=utf-8", PAGE, {"Server": "cloudflare", "CF-RAY": "8f00ba7c0ffee000-FRA"}
            return 200, "text/html; charset=utf-8", PAGE
        super().__init__(answer)

    def page_url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


def fake_check_answer(hostname: str) -> dict:
    """What a caseflag server would say about a target: enough for a red "!" badge."""
    return {
        "hostname": hostname,
        "registrable_domain": hostname,
        "verdict": {"level": "target", "badge": {"text": "!", "color": "#c62828"}, "reasons": ["the fake server says so"]},
        "matches": [],
        "infrastructure": {"status": "skipped", "reason": "fake", "addresses": [], "providers": []},
    }


class FakeCaseflagServer(RecordingServer):
    """Plays a caseflag server: every request is counted; /api/v1/check calls every name a
    target (or, with failing_checks, answers 503), /healthz is healthy, anything else is a 404.
    With cors=False it does not allow the
    extension's origin, so only a host permission lets the extension read its answers."""

    def __init__(self, cors: bool = True) -> None:
        # Healthy (/healthz answers) but failing every check with 503, as an overloaded server does.
        self.failing_checks = False

        def answer(handler):
            from urllib.parse import parse_qs, urlsplit

            target = urlsplit(handler.path)
            if target.path == "/api/v1/check" and self.failing_checks:
                return 503, "application/json", b'{"error": {"code": "unavailable", "message": "down"}}'
            if target.path == "/api/v1/check":
                domain = parse_qs(target.query).get("domain", [""])[0]
                return 200, "application/json", json.dumps(fake_check_answer(domain)).encode()
            if target.path == "/healthz":
                return 200, "application/json", b'{"status": "ok"}'
            return 404, "application/json", b'{"error": {"code": "not_found", "message": "no"}}'

        super().__init__(answer, cors=cors)

    def paths(self) -> list[str]:
        return [target for _, target in self.requests]
