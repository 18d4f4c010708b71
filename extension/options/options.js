/**
 * Options: where answers come from (the built-in list, or a server whose address is checked with
 * /healthz and whose host permission is asked for when it is saved), the list in use and its
 * updates, the optional permission to read the tab's own connection, on/off, private windows,
 * paused sites. The mode and the server's address are saved only by Save; a switch or a paused site
 * is saved as it changes. One status message shows at a time, in plain words.
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
  openExtensionPage,
  saveSettings,
  serverPermissions,
  setSitePaused,
} from "../common.js";
import { checkHealth } from "../api.js";
import { formatDate, formatDay } from "../format.js";

const $ = (id) => document.getElementById(id);

localize();

// The mode and address as stored: the form is "unsaved" while it differs from them.
let saved = { mode: "builtin", backendUrl: DEFAULT_BACKEND_URL };

for (const id of ["mode-builtin", "mode-server"]) $(id).addEventListener("change", () => formChanged());
$("backend-url").addEventListener("input", () => formChanged());
$("mode-form").addEventListener("submit", (event) => {
  event.preventDefault();
  saveMode();
});
$("update-list").addEventListener("click", () => updateList());
$("connection").addEventListener("change", (event) => setConnection(event.target.checked));
$("test-backend").addEventListener("click", () => withBackend((backend) => testBackend(backend)));
$("enabled").addEventListener("change", (event) => saveSwitch({ enabled: event.target.checked }));
$("check-private").addEventListener("change", (event) => saveSwitch({ checkPrivate: event.target.checked }));
$("paused-form").addEventListener("submit", (event) => {
  event.preventDefault();
  addPausedSite();
});
$("open-list").addEventListener("click", () => openExtensionPage("list/list.html"));
$("open-firstrun").addEventListener("click", () => openExtensionPage("firstrun/firstrun.html"));

chrome.storage.onChanged.addListener((changes, area) => {
  if (area !== "local") return;
  if ("pausedSites" in changes) getSettings().then((s) => renderPaused(s.pausedSites));
  // The popup can turn caseflag off (or on) while this page is open.
  if ("enabled" in changes) getSettings().then((s) => ($("enabled").checked = s.enabled));
});

load();

async function load() {
  const settings = await getSettings();
  saved = { mode: settings.mode, backendUrl: settings.backendUrl };
  showMode(settings.mode);
  $("backend-url").value = settings.backendUrl;
  formChanged();
  $("enabled").checked = settings.enabled;
  $("connection").checked = await hasConnectionPermission();
  renderPaused(settings.pausedSites);
  await renderPrivate(settings);
  await renderList();
  // In built-in mode nothing leaves the browser, not even this check.
  if (settings.mode === "server") {
    await reportHealth(normalizeBackendUrl(settings.backendUrl), "optionsStatusOk");
  }
}

/** Firefox and Chrome both say whether the person let the extension into private windows. */
async function renderPrivate(settings) {
  const allowed = await chrome.extension.isAllowedIncognitoAccess();
  $("check-private").disabled = !allowed;
  $("check-private").checked = allowed && settings.checkPrivate;
  $("private-hint").textContent = msg(allowed ? "optionsPrivateAllowed" : "optionsPrivateNotAllowed");
}

function chosenMode() {
  return $("mode-server").checked ? "server" : "builtin";
}

function showMode(mode) {
  $("mode-builtin").checked = mode === "builtin";
  $("mode-server").checked = mode === "server";
}

/** Enables what applies to the chosen mode, and says when the form holds something unsaved. */
function formChanged() {
  const mode = chosenMode();
  $("backend-url").disabled = mode !== "server";
  $("test-backend").disabled = mode !== "server";
  $("backend").dataset.off = String(mode !== "server");
  const typed = normalizeBackendUrl($("backend-url").value)?.url ?? $("backend-url").value.trim();
  const dirty = mode !== saved.mode || (mode === "server" && typed !== saved.backendUrl);
  // Save stays enabled when nothing changed: saving the same server again asks for its permission.
  if (dirty) {
    setStatus("backend-status", "", msg("optionsModeUnsaved"), "unsaved");
  } else if ($("backend-status").dataset.kind === "unsaved") {
    $("backend-status").hidden = true;
  }
}

/** Save: the built-in list at once; a server after its address and permission check out. */
function saveMode() {
  if (chosenMode() === "builtin") {
    saveSettings({ mode: "builtin" }).then(async () => {
      saved = { ...saved, mode: "builtin" };
      formChanged();
      setStatus("backend-status", "ok", msg("optionsModeBuiltinSaved"));
      await renderList();
    });
    return;
  }
  withBackend((backend) => saveBackend(backend));
}

/**
 * Reads the address field and asks for the host permission in the same turn as the click: browsers
 * grant permissions.request only while handling the person's gesture. A granted one answers at once.
 */
function withBackend(next) {
  const backend = normalizeBackendUrl($("backend-url").value);
  if (!backend) {
    setStatus("backend-status", "bad", msg("optionsStatusBadUrl", [DEFAULT_BACKEND_URL]));
    return;
  }
  chrome.permissions
    .request(serverPermissions(backend))
    .then((granted) => {
      if (!granted) {
        setStatus("backend-status", "bad", msg("optionsStatusPermissionDenied", [backend.origin]));
        return null;
      }
      return next(backend);
    })
    .catch(() => {
      setStatus("backend-status", "bad", msg("optionsStatusPermissionDenied", [backend.origin]));
    });
}

/** Saving an address means asking that server from now on. */
async function saveBackend(backend) {
  await saveSettings({ mode: "server", backendUrl: backend.url });
  saved = { mode: "server", backendUrl: backend.url };
  $("backend-url").value = backend.url;
  formChanged();
  await reportHealth(backend, "optionsStatusSavedOk", "optionsStatusSavedUnreachable");
  await renderList();
}

async function saveSwitch(patch) {
  await saveSettings(patch);
  setStatus("checking-status", "ok", msg("optionsSwitchSaved"));
}

// ---- the list in use ------------------------------------------------------------------------------

async function renderList() {
  let info;
  try {
    info = await ask("getListInfo");
  } catch (err) {
    $("list-info").textContent = msg("listLoadFailed");
    return;
  }
  const { list, lastCheck } = info;
  $("list-info").textContent =
    list.origin === "downloaded"
      ? msg("optionsListDownloaded", [String(list.version), formatDate(String(list.date)), String(list.server)])
      : msg("optionsListBundled", [String(list.version), formatDate(String(list.date))]);
  const { mode } = await getSettings();
  // Only a server gives newer lists: in built-in mode the button could do nothing.
  $("update-list").hidden = mode !== "server";
  if (mode === "server" && lastCheck?.at) {
    $("list-check").textContent = msg("optionsListLastCheck", [
      String(lastCheck.server),
      formatDay(lastCheck.at),
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
    const { outcome } = await ask("updateList");
    const tone = outcome === "updated" || outcome === "unchanged" ? "ok" : outcome === "older" ? "warn" : "bad";
    setStatus("list-status", tone, msg(`optionsListOutcome_${outcome}`));
  } catch {
    setStatus("list-status", "bad", msg("optionsListOutcome_failed"));
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
    .catch(async () => {
      $("connection").checked = await hasConnectionPermission();
      setStatus("connection-status", "bad", msg("optionsConnectionDenied"));
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
    setStatus("backend-status", "bad", msg(failKey, [backend.url, reasonWords(err)]));
  }
}

/** Why a server check failed, in plain words (never the browser's own error text). */
function reasonWords(err) {
  switch (err?.kind) {
    case "timeout":
      return msg("optionsReasonTimeout");
    case "server":
    case "rejected":
      return Number.isInteger(err.status) ? msg("optionsReasonHttp", [String(err.status)]) : msg("optionsReasonNotCaseflag");
    case "invalid":
      return msg("optionsReasonNotCaseflag");
    default:
      return msg("optionsReasonUnreachable");
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
  setStatus("paused-status", "ok", msg("optionsPausedSaved", [site]));
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

/** Shows one status message, and hides the others: only the newest one is news. */
function setStatus(id, tone, words, kind = "") {
  for (const other of document.querySelectorAll(".status")) {
    if (other.id !== id) other.hidden = true;
  }
  const el = $(id);
  el.textContent = words;
  el.dataset.tone = tone;
  el.dataset.kind = kind;
  el.hidden = false;
}
