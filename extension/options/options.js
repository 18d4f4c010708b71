/**
 * Options: the server's address (checked with /healthz, its host permission asked for at run time),
 * on/off, private windows, paused sites. Every change is saved at once; the worker reacts to it.
 */

import {
  DEFAULT_BACKEND_URL,
  getSettings,
  localize,
  msg,
  normalizeBackendUrl,
  normalizeSite,
  saveSettings,
  setSitePaused,
} from "../common.js";
import { checkHealth } from "../api.js";

const $ = (id) => document.getElementById(id);

localize();

$("backend-form").addEventListener("submit", (event) => {
  event.preventDefault();
  withBackend((backend) => saveBackend(backend));
});
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
  $("backend-url").value = settings.backendUrl;
  $("enabled").checked = settings.enabled;
  $("check-private").checked = settings.checkPrivate;
  renderPaused(settings.pausedSites);
  // Firefox and Chrome both say whether the person let the extension into private windows.
  const allowed = await chrome.extension.isAllowedIncognitoAccess();
  $("private-hint").hidden = allowed;
  await reportHealth(normalizeBackendUrl(settings.backendUrl), "optionsStatusOk");
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
    .request({ origins: [backend.permission] })
    .then((granted) => {
      if (!granted) {
        setStatus("backend-status", "bad", msg("optionsStatusPermissionDenied", [backend.origin]));
        return null;
      }
      return next(backend);
    })
    .catch((err) =>
      setStatus(
        "backend-status",
        "bad",
        msg("optionsStatusPermissionDenied", [backend.origin]) + " " + String(err?.message || err),
      ),
    );
}

async function saveBackend(backend) {
  await saveSettings({ backendUrl: backend.url });
  $("backend-url").value = backend.url;
  await reportHealth(backend, "optionsStatusSavedOk", "optionsStatusSavedUnreachable");
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

function setStatus(id, tone, words) {
  const el = $(id);
  el.textContent = words;
  el.dataset.tone = tone;
  el.hidden = false;
}
