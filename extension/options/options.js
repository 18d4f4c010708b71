/**
 * Options: where answers come from (the built-in list, or a server whose address is checked with
 * /healthz and whose host permission is asked for when server mode is saved), the list in use and
 * its updates, the optional permission to read the tab's own connection, on/off, private windows,
 * paused sites. Every change is saved at once; the worker reacts to it.
 */

import {
  CONNECTION_PERMISSION,
  DEFAULT_BACKEND_URL,
  ask,
  getSettings,
  hasConnectionPermission,
  localize,
  msg,
  normalizeBackendUrl,
  normalizeSite,
  saveSettings,
  serverPermissions,
  setSitePaused,
  uiLanguage,
} from "../common.js";
import { checkHealth } from "../api.js";

const $ = (id) => document.getElementById(id);

localize();

$("mode-builtin").addEventListener("change", () => chooseBuiltin());
$("mode-server").addEventListener("change", () =>
  withBackend((backend) => saveBackend(backend), () => showMode("builtin")),
);
$("backend-form").addEventListener("submit", (event) => {
  event.preventDefault();
  withBackend((backend) => saveBackend(backend));
});
$("update-list").addEventListener("click", () => updateList());
$("connection").addEventListener("change", (event) => setConnection(event.target.checked));
$("test-backend").addEventListener("click", () => withBackend((backend) => testBackend(backend)));
$("enabled").addEventListener("change", (event) => saveSettings({ enabled: event.target.checked }));
$("check-private").addEventListener("change", (event) =>
  saveSettings({ checkPrivate: event.target.checked }),
);
$("paused-form").addEventListener("submit", (event) => {
  event.preventDefault();
  addPausedSite();
});

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && "pausedSites" in changes) getSettings().then((s) => renderPaused(s.pausedSites));
});

load();

async function load() {
  const settings = await getSettings();
  showMode(settings.mode);
  $("backend-url").value = settings.backendUrl;
  $("enabled").checked = settings.enabled;
  $("check-private").checked = settings.checkPrivate;
  $("connection").checked = await hasConnectionPermission();
  renderPaused(settings.pausedSites);
  // Firefox and Chrome both say whether the person let the extension into private windows.
  const allowed = await chrome.extension.isAllowedIncognitoAccess();
  $("private-hint").hidden = allowed;
  await renderList();
  // In built-in mode nothing leaves the browser, not even this check.
  if (settings.mode === "server") {
    await reportHealth(normalizeBackendUrl(settings.backendUrl), "optionsStatusOk");
  }
}

function showMode(mode) {
  $("mode-builtin").checked = mode === "builtin";
  $("mode-server").checked = mode === "server";
  $("backend-form").dataset.off = String(mode !== "server");
  $("update-list").hidden = mode !== "server";
}

async function chooseBuiltin() {
  await saveSettings({ mode: "builtin" });
  showMode("builtin");
  $("backend-status").hidden = true;
  setStatus("mode-status", "ok", msg("optionsModeBuiltinSaved"));
  await renderList();
}

/**
 * Reads the address field and asks for the host permission in the same turn as the click: browsers
 * grant permissions.request only while handling the person's gesture. A granted one answers at once.
 */
function withBackend(next, declined = () => {}) {
  const backend = normalizeBackendUrl($("backend-url").value);
  if (!backend) {
    setStatus("backend-status", "bad", msg("optionsStatusBadUrl", [DEFAULT_BACKEND_URL]));
    declined();
    return;
  }
  chrome.permissions
    .request(serverPermissions(backend))
    .then((granted) => {
      if (!granted) {
        setStatus("backend-status", "bad", msg("optionsStatusPermissionDenied", [backend.origin]));
        declined();
        return null;
      }
      return next(backend);
    })
    .catch((err) => {
      setStatus(
        "backend-status",
        "bad",
        msg("optionsStatusPermissionDenied", [backend.origin]) + " " + String(err?.message || err),
      );
      declined();
    });
}

/** Saving an address means asking that server from now on. */
async function saveBackend(backend) {
  await saveSettings({ mode: "server", backendUrl: backend.url });
  showMode("server");
  $("backend-url").value = backend.url;
  setStatus("mode-status", "ok", msg("optionsModeServerSaved", [backend.url]));
  await reportHealth(backend, "optionsStatusSavedOk", "optionsStatusSavedUnreachable");
  await renderList();
}

// ---- the list in use ------------------------------------------------------------------------------

async function renderList() {
  let info;
  try {
    info = await ask("getListInfo");
  } catch (err) {
    $("list-info").textContent = msg("optionsListUnreadable", [String(err?.message || err)]);
    return;
  }
  const { list, lastCheck } = info;
  $("list-info").textContent =
    list.origin === "downloaded"
      ? msg("optionsListDownloaded", [String(list.version), formatDay(list.date), String(list.server)])
      : msg("optionsListBundled", [String(list.version), formatDay(list.date)]);
  const { mode } = await getSettings();
  if (mode === "server" && lastCheck?.at) {
    $("list-check").textContent = msg("optionsListLastCheck", [
      String(lastCheck.server),
      formatTime(lastCheck.at),
      lastCheck.outcome ? msg(`optionsListOutcome_${lastCheck.outcome}`) : "",
    ]);
    $("list-check").hidden = false;
  } else {
    $("list-check").hidden = true;
  }
}

async function updateList() {
  $("update-list").disabled = true;
  setStatus("list-status", "", msg("optionsListChecking"));
  try {
    const { outcome, lastCheck } = await ask("updateList");
    const tone = outcome === "updated" || outcome === "unchanged" ? "ok" : outcome === "older" ? "warn" : "bad";
    const words = msg(`optionsListOutcome_${outcome}`);
    setStatus("list-status", tone, lastCheck?.message ? `${words} (${lastCheck.message})` : words);
  } catch (err) {
    setStatus("list-status", "bad", String(err?.message || err));
  } finally {
    $("update-list").disabled = false;
  }
  await renderList();
}

// ---- the optional connection permission -------------------------------------------------------------

/** Asked for in the same turn as the click, like the server's host. */
function setConnection(wanted) {
  const permission = {
    permissions: [...CONNECTION_PERMISSION.permissions],
    origins: [...CONNECTION_PERMISSION.origins],
  };
  const change = wanted ? chrome.permissions.request(permission) : chrome.permissions.remove(permission);
  change
    .then(async () => {
      const granted = await hasConnectionPermission();
      $("connection").checked = granted;
      if (wanted) {
        const key = granted ? "optionsConnectionOn" : "optionsConnectionDenied";
        setStatus("connection-status", granted ? "ok" : "bad", msg(key));
      } else {
        // A browser may keep it (an enterprise policy, say); say so rather than pretend.
        const key = granted ? "optionsConnectionKept" : "optionsConnectionOff";
        setStatus("connection-status", granted ? "warn" : "ok", msg(key));
      }
    })
    .catch(async (err) => {
      $("connection").checked = await hasConnectionPermission();
      setStatus("connection-status", "bad", String(err?.message || err));
    });
}

function testBackend(backend) {
  return reportHealth(backend, "optionsStatusOk");
}

async function reportHealth(backend, okKey, failKey = "optionsStatusUnreachable") {
  setStatus("backend-status", "", msg("optionsStatusChecking", [backend.url]));
  try {
    const health = await checkHealth(backend.url);
    const version = typeof health.dataset_version === "string" ? health.dataset_version : "";
    const words = msg(okKey, [backend.url]);
    setStatus("backend-status", "ok", version ? `${words} ${msg("optionsStatusDataset", [version])}` : words);
  } catch (err) {
    if (
      err?.kind === "unreachable" &&
      !(await chrome.permissions.contains({ origins: [backend.permission] }))
    ) {
      setStatus("backend-status", "warn", msg("optionsStatusNoPermission", [backend.origin]));
      return;
    }
    const why = err?.kind === "timeout" ? msg("optionsReasonTimeout") : String(err?.message || err);
    setStatus("backend-status", "bad", msg(failKey, [backend.url, why]));
  }
}

async function addPausedSite() {
  const input = $("paused-input");
  const site = normalizeSite(input.value);
  if (!site) {
    setStatus("paused-status", "bad", msg("optionsPausedInvalid"));
    return;
  }
  await setSitePaused(site, true);
  input.value = "";
  $("paused-status").hidden = true;
}

function renderPaused(sites) {
  const items = sites.map((site) => {
    const node = $("paused-item").content.cloneNode(true).firstElementChild;
    localize(node);
    node.querySelector(".site").textContent = site;
    const remove = node.querySelector(".remove");
    remove.setAttribute("aria-label", msg("optionsPausedRemoveLabel", [site]));
    remove.addEventListener("click", () => setSitePaused(site, false));
    return node;
  });
  $("paused-list").replaceChildren(...items);
  $("paused-empty").hidden = sites.length > 0;
}

function formatDay(value) {
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value ?? ""));
  if (!parts) return String(value ?? "");
  const date = new Date(Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3])));
  return new Intl.DateTimeFormat(uiLanguage(), { dateStyle: "medium", timeZone: "UTC" }).format(date);
}

function formatTime(ms) {
  const format = new Intl.DateTimeFormat(uiLanguage(), { dateStyle: "medium", timeStyle: "short" });
  return format.format(new Date(ms));
}

function setStatus(id, tone, words) {
  const el = $(id);
  el.textContent = words;
  el.dataset.tone = tone;
  el.hidden = false;
}
