/**
 * Constants, default options and storage helpers shared by the service worker, popup and options.
 * Options live in storage.local (they outlive the browser session); answers and per-tab state in
 * storage.session (see background.js).
 */

export const DEFAULT_BACKEND_URL = "http://127.0.0.1:8000";

// builtin: answers come from the list bundled with the extension (or the newest one downloaded from a
// server in server mode); nothing leaves the browser. server: each hostname is sent to a caseflag server.
export const MODES = Object.freeze(["builtin", "server"]);

export const DEFAULT_SETTINGS = Object.freeze({
  mode: "builtin",
  backendUrl: DEFAULT_BACKEND_URL,
  enabled: true,
  pausedSites: [],
  checkPrivate: false,
});

export const SETTING_KEYS = Object.freeze(Object.keys(DEFAULT_SETTINGS));

// How long an answer is reused. Answers change only with the data set or DNS, so hours are fine;
// an answer whose DNS part was unknown, or a failure, is retried sooner.
export const VERDICT_TTL_MS = 6 * 60 * 60 * 1000;
export const PARTIAL_TTL_MS = 5 * 60 * 1000;
export const ERROR_TTL_MS = 30 * 1000;
export const MAX_CACHED_HOSTS = 500;

export const REQUEST_TIMEOUT_MS = 10_000;
export const HEALTH_TIMEOUT_MS = 4_000;

// A newer list is asked of the server at most this often (server mode only).
export const INDEX_UPDATE_INTERVAL_MS = 6 * 60 * 60 * 1000;
export const INDEX_TIMEOUT_MS = 30_000;

export const HOST_KEY_PREFIX = "host:";
export const TAB_KEY_PREFIX = "tab:";
export const CONNECTION_KEY_PREFIX = "conn:";
// storage.local: the downloaded list { index, etag, server, savedAt }, and the last update check.
export const INDEX_KEY = "index";
export const INDEX_CHECK_KEY = "indexCheck";

export const hostKey = (hostname) => HOST_KEY_PREFIX + hostname;
export const tabKey = (tabId) => TAB_KEY_PREFIX + tabId;
export const connectionKey = (tabId) => CONNECTION_KEY_PREFIX + tabId;

/** What the worker stored about a tab's page (its hostname, never the URL), or null. */
export async function getTabRecord(tabId) {
  const key = tabKey(tabId);
  return (await chrome.storage.session.get(key))[key] ?? null;
}

/**
 * The optional permission to read, for the page a tab shows, the address the browser connected to
 * and the headers a CDN sets. webRequest only sees requests to hosts it has access to, hence the
 * origins. Asked for in the settings, never up front.
 */
export const CONNECTION_PERMISSION = Object.freeze({
  permissions: ["webRequest"],
  origins: ["http://*/*", "https://*/*"],
});

export function hasConnectionPermission() {
  return chrome.permissions.contains({
    permissions: [...CONNECTION_PERMISSION.permissions],
    origins: [...CONNECTION_PERMISSION.origins],
  });
}

/**
 * Firefox asks the person's consent before an add-on may send data about them anywhere (its
 * built-in data-collection consent): in server mode that is the host name of each site visited.
 * The manifest declares it optional, so a fresh install, which sends nothing, asks for nothing;
 * the settings ask for it with the server's host permission. Other browsers have no such consent.
 */
export const IS_FIREFOX = typeof globalThis.browser?.runtime?.getBrowserInfo === "function";
export const SEND_CONSENT = Object.freeze({ data_collection: ["browsingActivity"] });

/** The permissions to ask for before asking a server: its host, and in Firefox the consent. */
export function serverPermissions(backend) {
  return IS_FIREFOX ? { origins: [backend.permission], ...SEND_CONSENT } : { origins: [backend.permission] };
}

/** Whether the sites visited may be sent to a server (always outside Firefox). */
export async function maySendSites() {
  if (!IS_FIREFOX) return true;
  try {
    return await chrome.permissions.contains({ data_collection: [...SEND_CONSENT.data_collection] });
  } catch {
    return false; // a Firefox that cannot say: nothing is sent
  }
}

/** The options, with defaults for anything not yet saved and junk values replaced. */
export async function getSettings() {
  const stored = await chrome.storage.local.get(DEFAULT_SETTINGS);
  const backend = normalizeBackendUrl(stored.backendUrl);
  return {
    mode: MODES.includes(stored.mode) ? stored.mode : DEFAULT_SETTINGS.mode,
    backendUrl: backend ? backend.url : DEFAULT_BACKEND_URL,
    enabled: stored.enabled !== false,
    pausedSites: Array.isArray(stored.pausedSites)
      ? stored.pausedSites.filter((site) => typeof site === "string")
      : [],
    checkPrivate: stored.checkPrivate === true,
  };
}

export function saveSettings(patch) {
  return chrome.storage.local.set(patch);
}

/** Adds or removes a site (a hostname; it covers its subdomains) from the paused list. */
export async function setSitePaused(site, paused) {
  const name = normalizeSite(site);
  if (!name) return null;
  const { pausedSites } = await getSettings();
  const rest = pausedSites.filter((entry) => entry !== name);
  await saveSettings({ pausedSites: paused ? [...rest, name].sort() : rest });
  return name;
}

/** The paused entry that covers hostname, or null. */
export function pausedEntryFor(hostname, pausedSites) {
  if (!hostname) return null;
  return pausedSites.find((entry) => hostname === entry || hostname.endsWith("." + entry)) ?? null;
}

/** "https://WWW.Example.org/x" or "example.org." -> "www.example.org" / "example.org"; else null. */
export function normalizeSite(input) {
  if (typeof input !== "string") return null;
  let text = input.trim();
  if (!text) return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = "http://" + text;
  try {
    const url = new URL(text);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    const name = url.hostname.replace(/\.$/, "");
    return name && !name.includes("..") ? name : null;
  } catch {
    return null;
  }
}

/**
 * A backend address as the person typed it -> { url, origin, permission } or null.
 * url keeps a path prefix (a server behind a reverse proxy) without the trailing slash; permission
 * is the host pattern to request. Match patterns carry no port in Firefox, and one without a port
 * covers every port in Chrome, so the pattern names only scheme and host.
 */
export function normalizeBackendUrl(input) {
  if (typeof input !== "string" || !input.trim()) return null;
  let url;
  try {
    url = new URL(input.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.username || url.password) return null;
  const path = url.pathname.replace(/\/+$/, "");
  return {
    url: url.origin + path,
    origin: url.origin,
    permission: `${url.protocol}//${url.hostname}/*`,
  };
}

/**
 * What to do with a committed page's URL: { hostname } to check it, or { skip } saying why not.
 * Only the hostname ever leaves the browser; path, query and fragment are dropped here.
 */
export function classifyUrl(rawUrl) {
  let url;
  try {
    url = new URL(rawUrl);
  } catch {
    return { skip: "scheme" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { skip: "scheme" };
  const hostname = url.hostname.replace(/\.$/, "").toLowerCase();
  if (!hostname) return { skip: "scheme" };
  if (isLocalName(hostname)) return { skip: "local", hostname };
  return { hostname };
}

/**
 * Special-use and locally served names (IANA): never public sites, so never sent to a server. The
 * same list as SPECIAL_USE_SUFFIXES in server/caseflag/specialuse.py (a test compares them); the
 * built-in index carries it too. A listed .onion address may still be matched against the built-in
 * list, which happens in the browser.
 */
export const SPECIAL_USE_SUFFIXES = Object.freeze([
  "alt", "arpa", "example", "example.com", "example.net", "example.org", "internal", "invalid",
  "local", "localhost", "onion", "test",
]);
// Not reserved, but what home routers call the local network.
const HOME_SUFFIXES = ["lan"];

export function isSpecialUseName(hostname, extraSuffixes = []) {
  return [...SPECIAL_USE_SUFFIXES, ...HOME_SUFFIXES, ...extraSuffixes].some(
    (suffix) => hostname === suffix || hostname.endsWith("." + suffix),
  );
}

function isLocalName(hostname) {
  if (hostname.startsWith("[")) return true; // an IPv6 literal
  if (/^\d+(\.\d+){3}$/.test(hostname)) return true; // an IPv4 literal
  if (!hostname.includes(".")) return true; // localhost, intranet single labels
  return isSpecialUseName(hostname);
}

/** A UI string; the key itself when it is missing, so a gap shows instead of an empty label. */
export function msg(key, substitutions) {
  return chrome.i18n.getMessage(key, substitutions) || key;
}

/**
 * The language of the strings the extension shows (its own _locales entry, negotiated by the
 * browser), not the browser's UI language: dates, language names and the order of reporting follow
 * the words on the page. Each locale names itself in its localeTag message.
 */
export function uiLanguage() {
  const tag = chrome.i18n.getMessage("localeTag");
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return chrome.i18n.getUILanguage() || "en";
  }
}

/** Opens one of the extension's own pages in a new tab (the list page, the welcome page). */
export function openExtensionPage(path) {
  return chrome.tabs.create({ url: chrome.runtime.getURL(path) });
}

/** Fills data-i18n* attributes under root with their messages. */
export function localize(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = msg(el.dataset.i18n);
  }
  for (const [attribute, target] of [
    ["data-i18n-title", "title"],
    ["data-i18n-placeholder", "placeholder"],
    ["data-i18n-aria-label", "aria-label"],
    ["data-i18n-alt", "alt"],
  ]) {
    for (const el of root.querySelectorAll(`[${attribute}]`)) {
      el.setAttribute(target, msg(el.getAttribute(attribute)));
    }
  }
  if (root === document) {
    document.documentElement.lang = uiLanguage();
    document.documentElement.dir = msg("@@bidi_dir");
  }
}

/** Sends a message to the service worker's dispatcher; rejects with its error text. */
export async function ask(type, fields = {}) {
  const reply = await chrome.runtime.sendMessage({ type, ...fields });
  if (!reply || !reply.ok) throw new Error(reply?.error || "no answer from the background worker");
  return reply.result;
}
