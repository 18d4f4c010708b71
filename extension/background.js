/**
 * Service worker (an event page in Firefox): checks each committed http(s) page's hostname, with
 * the built-in list (the default: nothing leaves the browser) or a caseflag server, and shows the
 * verdict on the toolbar button of that tab.
 *
 * The worker may be stopped at any time, so it keeps nothing only in memory: per-tab state, the
 * tab's connection and server answers live in storage.session, options and a downloaded list in
 * storage.local. Listeners are registered at the top level so the browser can wake the worker for
 * them, and each awaits `ready`.
 */

import {
  CONNECTION_KEY_PREFIX,
  CONNECTION_PERMISSION,
  ERROR_TTL_MS,
  HOST_KEY_PREFIX,
  INDEX_CHECK_KEY,
  INDEX_KEY,
  INDEX_UPDATE_INTERVAL_MS,
  MAX_CACHED_HOSTS,
  PARTIAL_TTL_MS,
  SETTING_KEYS,
  TAB_KEY_PREFIX,
  classifyUrl,
  connectionKey,
  getSettings,
  hasConnectionPermission,
  hostKey,
  maySendSites,
  msg,
  normalizeBackendUrl,
  pausedEntryFor,
  tabKey,
} from "./common.js";
import {
  BackendError,
  NO_BADGE,
  badgeFor,
  checkDomain,
  fetchIndex,
  titleFor,
  ttlFor,
  validateResult,
} from "./api.js";
import { localCheck, prepareIndex, validateIndex } from "./local.js";

const FIRST_RUN_PAGE = "firstrun/firstrun.html";

const ICONS = {
  on: { 16: "/icons/icon-16.png", 32: "/icons/icon-32.png" },
  off: { 16: "/icons/icon-off-16.png", 32: "/icons/icon-off-32.png" },
};

// States in which caseflag is at work on the tab; any other greys the icon out.
const ACTIVE_STATES = new Set(["result", "checking", "unsupported"]);

const ready = initialize();

async function initialize() {
  await catalogueLoaded();
  try {
    await pruneCache();
  } catch {
    // Pruning only saves space; a failure must not keep the listeners waiting for ever.
  }
}

/**
 * Waits (2 s at most) until the browser answers from the extension's message catalogue. Chromium can
 * start the worker after a browser restart before the catalogue is loaded: chrome.i18n.getMessage then
 * answers "" for a moment, and a toolbar title made then would show a bare message key.
 */
async function catalogueLoaded() {
  for (let waited = 0; !chrome.i18n.getMessage("extName") && waited < 2000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// ---- the message dispatcher -------------------------------------------------------------------

const HANDLERS = {
  /** What the popup shows for a tab: { state, hostname, result?, error?, ... }. */
  async getTabView({ tabId }) {
    const view = await refreshTab(checkedTabId(tabId));
    return { ...view, connectionAllowed: await hasConnectionPermission() };
  },
  /** Forgets the stored answer for the tab's hostname and asks the server again. */
  async recheck({ tabId }) {
    const id = checkedTabId(tabId);
    const record = await getTabRecord(id);
    if (record?.hostname) await chrome.storage.session.remove(hostKey(record.hostname));
    return refreshTab(id);
  },
  /** The list in use and the last update check, for the settings page. */
  async getListInfo() {
    return listInfo();
  },
  /** The whole list in use with its meta, for the list page (which works offline). */
  async getList() {
    const { index, meta } = await currentIndex();
    return { index, meta };
  },
  /** Asks the server for a newer list now (the settings page's button); resolves to the outcome. */
  async updateList() {
    const outcome = await updateIndex(await getSettings(), { force: true });
    return { outcome, ...(await listInfo()) };
  },
};

function isOwnPage(sender) {
  // Only our own popup and options pages talk to the worker; there are no content scripts.
  return (
    sender.id === chrome.runtime.id &&
    typeof sender.url === "string" &&
    sender.url.startsWith(chrome.runtime.getURL("/"))
  );
}

function checkedTabId(tabId) {
  if (!Number.isInteger(tabId) || tabId < 0) throw new Error("tabId must be a tab's id");
  return tabId;
}

// ---- listeners --------------------------------------------------------------------------------

chrome.webNavigation.onCommitted.addListener(async (details) => {
  // A prerendered page is not shown yet; the tabs.onUpdated check below catches its activation.
  if (details.frameId !== 0 || details.tabId < 0 || details.documentLifecycle === "prerender") return;
  await ready;
  await pageCommitted(details.tabId, details.url);
});

chrome.tabs.onUpdated.addListener(async (tabId, changeInfo) => {
  if (!changeInfo.status) return;
  await ready;
  await reconcileTab(tabId);
});

chrome.tabs.onRemoved.addListener(async (tabId) => {
  await ready;
  shownStamps.delete(tabId);
  refreshedTabs.delete(tabId);
  await chrome.storage.session.remove([tabKey(tabId), connectionKey(tabId)]);
});

chrome.storage.onChanged.addListener(async (changes, area) => {
  if (area !== "local") return;
  const settingsChanged = SETTING_KEYS.some((key) => key in changes);
  if (!settingsChanged && !(INDEX_KEY in changes)) return;
  await ready;
  if (INDEX_KEY in changes) preparedList = null;
  if ("backendUrl" in changes || "mode" in changes) await clearCache();
  await refreshAllTabs();
});

// webRequest exists only once the optional connection permission is granted. Granted at start-up,
// the listener is added here at the top level, as MV3 wants; granted later, onAdded adds it. The
// flag only says whether this worker has added it.
let listeningToConnections = false;
if (chrome.webRequest) listenToConnections();

chrome.permissions.onAdded.addListener(async (permissions) => {
  if (permissions.permissions?.includes("webRequest")) listenToConnections();
  await ready;
  await refreshAllTabs();
});

chrome.permissions.onRemoved.addListener(async () => {
  await ready;
  if (!(await hasConnectionPermission())) await forgetConnections();
  await refreshAllTabs();
});

chrome.runtime.onInstalled.addListener(async (details) => {
  // Only a new installation gets the welcome page; an update or a browser update does not.
  if (details?.reason === "install") {
    chrome.tabs.create({ url: chrome.runtime.getURL(FIRST_RUN_PAGE) }).catch(() => {});
  }
  await ready;
  // Tabs opened before the install (or before an update cleared storage.session) get a badge too.
  const tabs = await chrome.tabs.query({});
  await inBatches(tabs, (tab) => reconcileTab(tab.id));
});

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const type = message?.type;
  if (!isOwnPage(sender) || typeof type !== "string" || !Object.hasOwn(HANDLERS, type)) return false;
  const handler = HANDLERS[type];
  ready
    .then(() => handler(message, sender))
    .then(
      (result) => sendResponse({ ok: true, result }),
      (err) => sendResponse({ ok: false, error: String(err?.message || err) }),
    );
  return true; // the answer is sent asynchronously
});

// ---- tabs -------------------------------------------------------------------------------------

async function pageCommitted(tabId, url) {
  let tab;
  try {
    tab = await chrome.tabs.get(tabId);
  } catch {
    return; // closed meanwhile
  }
  const target = classifyUrl(url);
  // Only the hostname is kept, never the URL.
  const record = {
    hostname: target.hostname ?? null,
    skip: target.skip ?? null,
    incognito: tab.incognito === true,
    navigation: crypto.randomUUID(),
  };
  await chrome.storage.session.set({ [tabKey(tabId)]: record });
  await refreshTab(tabId);
}

/** Catches pages whose commit was not seen (prerendered, or opened before the install). */
async function reconcileTab(tabId) {
  let frame;
  try {
    frame = await chrome.webNavigation.getFrame({ tabId, frameId: 0 });
  } catch {
    return;
  }
  if (!frame?.url) return;
  const record = await getTabRecord(tabId);
  const target = classifyUrl(frame.url);
  if (record && record.hostname === (target.hostname ?? null) && record.skip === (target.skip ?? null)) {
    // The same page. A worker stopped after storing its record but before showing its view left
    // the button blank: a new worker shows it once, from the stored answers (nothing asked twice).
    if (!refreshedTabs.has(tabId)) await refreshTab(tabId);
    return;
  }
  await pageCommitted(tabId, frame.url);
}

async function getTabRecord(tabId) {
  const key = tabKey(tabId);
  return (await chrome.storage.session.get(key))[key] ?? null;
}

async function refreshAllTabs() {
  const all = await chrome.storage.session.get(null);
  const tabIds = Object.keys(all)
    .filter((key) => key.startsWith(TAB_KEY_PREFIX))
    .map((key) => Number(key.slice(TAB_KEY_PREFIX.length)));
  await inBatches(tabIds, (tabId) => refreshTab(tabId));
}

async function inBatches(items, work, size = 4) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.allSettled(items.slice(i, i + size).map(work));
  }
}

/**
 * Works out what to show for a tab, with the built-in list or the server (asked only when nothing
 * fresh is stored), and shows it on the toolbar button. Returns the view the popup renders.
 */
async function refreshTab(tabId) {
  refreshedTabs.add(tabId);
  const [stored, settings] = await Promise.all([getTabRecord(tabId), getSettings()]);
  // The stamp orders this refresh among the tab's others (see showOnAction).
  const record = { ...stored, stamp: ++refreshCount };
  const view = baseView(record, settings);
  if (view.state !== "check" && view.state !== "local") {
    await showOnAction(tabId, view, record);
    return view;
  }
  let done;
  if (view.state === "local") {
    // Never sent to a server; a listed .onion address is still found in the built-in list.
    done = await localView(view, tabId, { onlyListed: true });
  } else if (settings.mode === "builtin") {
    done = await localView(view, tabId);
  } else if (!(await maySendSites())) {
    // Firefox: the consent to send the sites visited was not given, or was taken back.
    done = await localView({ ...view, fallback: { kind: "consent" } }, tabId);
  } else {
    done = await serverView(view, tabId, settings, record);
  }
  await showOnAction(tabId, done, record);
  return done;
}

function baseView(record, settings) {
  if (!record || record.skip === "scheme" || !record.hostname) return { state: "unsupported" };
  const view = {
    hostname: record.hostname,
    mode: settings.mode,
    backendUrl: settings.backendUrl,
    enabled: settings.enabled,
  };
  if (!settings.enabled) return { ...view, state: "disabled" };
  const pausedEntry = pausedEntryFor(record.hostname, settings.pausedSites);
  if (pausedEntry) return { ...view, state: "paused", pausedEntry };
  if (record.incognito && !settings.checkPrivate) return { ...view, state: "private" };
  if (record.skip === "local") return { ...view, state: "local" };
  return { ...view, state: "check" };
}

async function serverView(view, tabId, settings, record) {
  let entry = await getCached(view.hostname, settings.backendUrl);
  if (!entry) {
    await showOnAction(tabId, { ...view, state: "checking" }, record);
    entry = await getVerdict(view.hostname, settings.backendUrl);
  }
  // At most every few hours, and without holding up this answer.
  updateIndex(settings).catch(() => {});
  const source = { kind: "server", url: settings.backendUrl };
  if (entry.result) return { ...view, state: "result", result: entry.result, source, savedAt: entry.savedAt };
  // A name the server will not check is not checked; any other failure falls back to the list.
  if (entry.error?.kind === "rejected") {
    return { ...view, state: "error", error: entry.error, savedAt: entry.savedAt };
  }
  return localView({ ...view, fallback: entry.error }, tabId);
}

/** The answer from the built-in list, with the tab's connection when the person allowed reading it. */
async function localView(view, tabId, { onlyListed = false } = {}) {
  let list;
  try {
    list = await currentIndex();
  } catch (err) {
    return { ...view, state: "error", error: { kind: "list", message: String(err?.message || err) } };
  }
  const connection = await connectionFor(tabId, view.hostname);
  let answer;
  try {
    // In the browser's language: the records' German text and the reasons (the popup words these again).
    answer = localCheck(view.hostname, list.prepared, { connection, lang: chrome.i18n.getUILanguage().split("-")[0] });
  } catch (err) {
    return { ...view, state: "error", error: { kind: "list", message: String(err?.message || err) } };
  }
  if (answer?.error) {
    // A name never sent anywhere: the list's refusal says what it is (reserved, local, …) for the popup.
    if (onlyListed) return { ...view, refusal: answer.error.explanation ?? null };
    const { code = null, message = "" } = answer.error;
    // builtin: the list refused the name itself, so nothing was sent anywhere.
    const error = { kind: "rejected", code, message, status: answer.status ?? null, builtin: true };
    return { ...view, state: "error", error };
  }
  let result;
  try {
    result = validateResult(answer);
  } catch (err) {
    return { ...view, state: "error", error: { kind: "list", message: String(err?.message || err) } };
  }
  if (onlyListed && result.verdict.level === "none") return view;
  const { version, date, origin } = list.meta;
  const source = { kind: "builtin", version, date, origin };
  return { ...view, state: "result", result, source, connection: connection !== null };
}

// ---- answers, stored per hostname in storage.session --------------------------------------------

async function getCached(hostname, backendUrl) {
  const key = hostKey(hostname);
  const entry = (await chrome.storage.session.get(key))[key];
  if (!entry || entry.backendUrl !== backendUrl || entry.expires <= Date.now()) return null;
  return entry;
}

// Deduplicates concurrent requests for one hostname (two tabs, or two events for one page). The
// entry is set before any await, so a second caller either joins it or finds the stored answer.
// Losing the map when the worker stops costs at most one extra request, so it may live in memory.
const inFlight = new Map();

function getVerdict(hostname, backendUrl) {
  const key = `${backendUrl} ${hostname}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = (async () =>
      (await getCached(hostname, backendUrl)) ?? askServer(hostname, backendUrl))().finally(() =>
      inFlight.delete(key),
    );
    inFlight.set(key, pending);
  }
  return pending;
}

async function askServer(hostname, backendUrl) {
  const savedAt = Date.now();
  let entry;
  const backend = normalizeBackendUrl(backendUrl);
  try {
    const result = await checkDomain(backend.url, hostname);
    entry = { result, savedAt, expires: savedAt + ttlFor(result) };
  } catch (err) {
    let error =
      err instanceof BackendError ? err.toJSON() : { kind: "invalid", message: String(err?.message || err) };
    // A server that allows our origin (CORS) answers without a host permission; one that does not
    // looks unreachable, and the missing permission is then the better explanation.
    if (
      error.kind === "unreachable" &&
      !(await chrome.permissions.contains({ origins: [backend.permission] }))
    ) {
      error = { ...error, kind: "permission" };
    }
    // A name the server will not check (not public) stays that way; other failures are retried soon.
    const ttl = error.kind === "rejected" ? PARTIAL_TTL_MS : ERROR_TTL_MS;
    entry = { error, savedAt, expires: savedAt + ttl };
  }
  entry.backendUrl = backendUrl;
  await chrome.storage.session.set({ [hostKey(hostname)]: entry });
  return entry;
}

// ---- the built-in list ------------------------------------------------------------------------

// The prepared list, made once per worker from storage.local or the bundled file: a cache of what
// is stored, so losing it when the worker stops costs only the time to prepare it again.
let preparedList = null;

/** { index, prepared, meta: { version, date, format, origin: "bundled" | "downloaded", server? } } */
function currentIndex() {
  if (!preparedList) {
    preparedList = loadIndex().catch((err) => {
      preparedList = null;
      throw err;
    });
  }
  return preparedList;
}

async function loadIndex() {
  const [bundled, stored] = await Promise.all([bundledIndex(), storedIndex()]);
  // A list downloaded earlier wins unless the extension has since been updated with a newer one
  // (by format and date; on the same date the download, which came later, is the one to keep).
  const chosen = stored && compareIndexes(stored.index, bundled) >= 0 ? stored : null;
  const index = chosen ? chosen.index : bundled;
  const headerNames = new Set();
  for (const provider of Array.isArray(index.providers) ? index.providers : []) {
    for (const pattern of Array.isArray(provider?.header_patterns) ? provider.header_patterns : []) {
      if (typeof pattern?.name === "string") headerNames.add(pattern.name.toLowerCase());
    }
  }
  return {
    index,
    prepared: prepareIndex(index),
    headerNames: [...headerNames],
    meta: {
      version: index.version,
      date: index.date,
      format: index.format,
      origin: chosen ? "downloaded" : "bundled",
      server: chosen?.server ?? null,
    },
  };
}

async function bundledIndex() {
  const response = await fetch(chrome.runtime.getURL("data/index.json"));
  const index = await response.json();
  validateIndex(index);
  return index;
}

/** The downloaded list, or null when there is none or it no longer passes validateIndex. */
async function storedIndex() {
  const stored = (await chrome.storage.local.get(INDEX_KEY))[INDEX_KEY];
  if (!stored?.index) return null;
  try {
    validateIndex(stored.index);
    return stored;
  } catch {
    return null;
  }
}

/** > 0 when list a is newer than b, < 0 when older, 0 on the same format and date. */
function compareIndexes(a, b) {
  const format = (Number(a?.format) || 0) - (Number(b?.format) || 0);
  if (format) return format;
  const [da, db] = [String(a?.date ?? ""), String(b?.date ?? "")];
  if (da !== db) return da > db ? 1 : -1;
  return 0;
}

/**
 * In server mode, asks the server for a newer list (at most every INDEX_UPDATE_INTERVAL_MS unless
 * forced), with the ETag of the copy from that server. The download replaces the list in use only
 * when it passes validateIndex and is not older; otherwise the list we have is kept. Resolves to
 * "updated", "unchanged" (304, or the same list), "older", "broken", "failed", "skipped" or null
 * (not due yet).
 */
function updateIndex(settings, options = {}) {
  // One update at a time, so two tabs' checks do not both download; a forced one (the settings'
  // button) runs after the pending one instead of sharing its outcome. Only the pending promise
  // lives here; when the last check ran is kept in storage.local.
  if (indexUpdate && !options.force) return indexUpdate;
  const previous = indexUpdate ?? Promise.resolve(null);
  const next = previous
    .catch(() => null)
    .then(() => runIndexUpdate(settings, options))
    .finally(() => {
      if (indexUpdate === next) indexUpdate = null;
    });
  indexUpdate = next;
  return next;
}

let indexUpdate = null;

async function runIndexUpdate(settings, { force = false } = {}) {
  if (settings.mode !== "server") return "skipped";
  const backend = normalizeBackendUrl(settings.backendUrl);
  const last = (await chrome.storage.local.get(INDEX_CHECK_KEY))[INDEX_CHECK_KEY];
  const now = Date.now();
  if (!force && last?.server === backend.url && now - (last.at ?? 0) < INDEX_UPDATE_INTERVAL_MS) return null;
  // Noted before asking, so concurrent checks (or a worker restart mid-download) do not ask again.
  await chrome.storage.local.set({ [INDEX_CHECK_KEY]: { ...last, at: now, server: backend.url } });
  const stored = await storedIndex();
  const etag = stored?.server === backend.url ? stored.etag : null;
  let outcome;
  let message = "";
  try {
    const download = await fetchIndex(backend.url, etag);
    if (download.status === 304) {
      outcome = "unchanged";
    } else {
      try {
        validateIndex(download.index);
      } catch (err) {
        throw new BackendError("invalid", String(err?.message || err));
      }
      const current = (await currentIndex()).meta;
      const order = compareIndexes(download.index, current);
      if (order < 0) {
        outcome = "older";
      } else if (order === 0 && download.index.version === current.version) {
        outcome = "unchanged";
      } else {
        await chrome.storage.local.set({
          [INDEX_KEY]: { index: download.index, etag: download.etag, server: backend.url, savedAt: now },
        });
        preparedList = null;
        outcome = "updated";
      }
    }
  } catch (err) {
    outcome = err instanceof BackendError && err.kind === "invalid" ? "broken" : "failed";
    message = String(err?.message || err);
  }
  await chrome.storage.local.set({
    [INDEX_CHECK_KEY]: { at: now, server: backend.url, outcome, message },
  });
  return outcome;
}

async function listInfo() {
  const [list, check] = await Promise.all([
    currentIndex(),
    chrome.storage.local.get(INDEX_CHECK_KEY).then((all) => all[INDEX_CHECK_KEY] ?? null),
  ]);
  return { list: list.meta, lastCheck: check };
}

// ---- the tab's own connection (only with the optional permission) -----------------------------

// Only these headers are kept: the ones some provider in the list is recognised by.
const FALLBACK_CONNECTION_HEADERS = ["cf-ray", "server"];
const MAX_HEADER_VALUE = 200;

function listenToConnections() {
  if (listeningToConnections || !chrome.webRequest?.onResponseStarted) return;
  chrome.webRequest.onResponseStarted.addListener(
    connectionSeen,
    { urls: [...CONNECTION_PERMISSION.origins], types: ["main_frame"] },
    ["responseHeaders"],
  );
  listeningToConnections = true;
}

/**
 * The address the browser connected to for a tab's page, and the few CDN headers of the response,
 * kept per tab in storage.session: the hostname, never the URL. No request is made for this.
 */
async function connectionSeen(details) {
  if (details.tabId < 0 || details.frameId !== 0) return;
  const target = classifyUrl(details.url);
  if (!target.hostname) return;
  await ready;
  const wanted = new Set(await connectionHeaderNames());
  const headers = {};
  for (const header of details.responseHeaders ?? []) {
    const name = String(header.name || "").toLowerCase();
    if (wanted.has(name) && typeof header.value === "string") {
      headers[name] = header.value.slice(0, MAX_HEADER_VALUE);
    }
  }
  const connection = { hostname: target.hostname, ip: details.ip || null, headers };
  await chrome.storage.session.set({ [connectionKey(details.tabId)]: connection });
  // The page may have committed before this arrived: show the answer with the connection now.
  const record = await getTabRecord(details.tabId);
  if (record?.hostname === target.hostname) await refreshTab(details.tabId);
}

async function connectionHeaderNames() {
  try {
    const names = (await currentIndex()).headerNames;
    if (names.length) return names;
  } catch {
    // The list could not be read; the headers the bundled providers use still help.
  }
  return FALLBACK_CONNECTION_HEADERS;
}

/** { ip, headers } the browser saw for the tab's page, if it shows hostname and reading is allowed. */
async function connectionFor(tabId, hostname) {
  const key = connectionKey(tabId);
  const connection = (await chrome.storage.session.get(key))[key];
  if (!connection || connection.hostname !== hostname) return null;
  return { ip: connection.ip, headers: connection.headers ?? {} };
}

async function forgetConnections() {
  const all = await chrome.storage.session.get(null);
  const keys = Object.keys(all).filter((key) => key.startsWith(CONNECTION_KEY_PREFIX));
  if (keys.length) await chrome.storage.session.remove(keys);
}

// ---- stored answers ---------------------------------------------------------------------------

async function clearCache() {
  const all = await chrome.storage.session.get(null);
  const keys = Object.keys(all).filter((key) => key.startsWith(HOST_KEY_PREFIX));
  if (keys.length) await chrome.storage.session.remove(keys);
}

/** Drops expired answers, and the oldest ones beyond MAX_CACHED_HOSTS (storage.session is small). */
async function pruneCache() {
  const all = await chrome.storage.session.get(null);
  const now = Date.now();
  const entries = Object.entries(all).filter(([key]) => key.startsWith(HOST_KEY_PREFIX));
  const stale = entries.filter(([, entry]) => !(entry?.expires > now)).map(([key]) => key);
  const live = entries
    .filter(([, entry]) => entry?.expires > now)
    .sort((a, b) => (b[1].savedAt ?? 0) - (a[1].savedAt ?? 0));
  const excess = live.slice(MAX_CACHED_HOSTS).map(([key]) => key);
  if (stale.length || excess.length) await chrome.storage.session.remove([...stale, ...excess]);
}

// ---- the toolbar button -----------------------------------------------------------------------

// Toolbar updates for one tab run one after another: two checks racing (a commit and a status
// change for the same page) must not interleave their badge and title calls. Only the chain of
// pending updates lives here, never state worth keeping.
const actionUpdates = new Map();
// Two refreshes of one page may finish out of order (a commit, and the connection seen a moment
// later): the one that started later read the newer state, so an older one is never shown over it.
// Only stamps live here; losing them with the worker loses nothing, as no refresh is then running.
let refreshCount = 0;
const shownStamps = new Map(); // tabId -> the stamp of the refresh whose view the button shows
const refreshedTabs = new Set(); // the tabs this worker has worked out a view for (see reconcileTab)

/**
 * Shows a view worked out for the tab's page as record described it. The tab may have moved on
 * meanwhile (a commit and a status change race, or the page changed while the server was asked):
 * a view for a page the tab no longer shows is dropped, so it cannot overwrite the newer one.
 */
function showOnAction(tabId, view, record) {
  const previous = actionUpdates.get(tabId) ?? Promise.resolve();
  const next = previous.then(async () => {
    const now = await getTabRecord(tabId);
    if ((now?.navigation ?? null) !== (record?.navigation ?? null)) return;
    const stamp = record?.stamp ?? 0;
    if (stamp < (shownStamps.get(tabId) ?? 0)) return;
    shownStamps.set(tabId, stamp);
    await applyToAction(tabId, view);
  });
  actionUpdates.set(tabId, next);
  next.finally(() => {
    if (actionUpdates.get(tabId) === next) actionUpdates.delete(tabId);
  });
  return next;
}

async function applyToAction(tabId, view) {
  const badge = view.state === "result" ? badgeFor(view.result) : NO_BADGE;
  const calls = [
    chrome.action.setBadgeText({ tabId, text: badge.text }),
    setTabIcon(tabId, ACTIVE_STATES.has(view.state) ? "on" : "off"),
  ];
  if (badge.color) calls.push(chrome.action.setBadgeBackgroundColor({ tabId, color: badge.color }));
  if (badge.textColor && chrome.action.setBadgeTextColor) {
    calls.push(chrome.action.setBadgeTextColor({ tabId, color: badge.textColor }));
  }
  // A tab closed meanwhile makes these reject; there is nothing left to show then.
  await Promise.allSettled(calls);
  // The title goes last: once it names the verdict, the badge already shows it.
  await chrome.action.setTitle({ tabId, title: titleText(view) }).catch(() => {});
}

// setIcon with paths decodes the images on every call (10-25 ms, most of a built-in check); with
// ImageData it does not. The decoded icons are a cache of the bundled files, made again after a
// restart; where they cannot be made, the paths still work.
let iconImages = null;

async function setTabIcon(tabId, which) {
  try {
    iconImages ??= decodeIcons();
    const images = await iconImages;
    return await chrome.action.setIcon({ tabId, imageData: images[which] });
  } catch {
    return chrome.action.setIcon({ tabId, path: ICONS[which] });
  }
}

async function decodeIcons() {
  const decoded = {};
  for (const [which, paths] of Object.entries(ICONS)) {
    decoded[which] = {};
    for (const [size, path] of Object.entries(paths)) {
      const blob = await (await fetch(chrome.runtime.getURL(path))).blob();
      const bitmap = await createImageBitmap(blob);
      const canvas = new OffscreenCanvas(Number(size), Number(size));
      const context = canvas.getContext("2d");
      context.drawImage(bitmap, 0, 0, Number(size), Number(size));
      decoded[which][size] = context.getImageData(0, 0, Number(size), Number(size));
    }
  }
  return decoded;
}

function titleText(view) {
  switch (view.state) {
    case "result": {
      const [key, substitutions] = titleFor(view.result);
      return msg(key, substitutions);
    }
    case "checking":
      return msg("titleChecking", [view.hostname]);
    case "error":
      return msg(errorTitleKey(view.error), [view.hostname]);
    case "paused":
      return msg("titlePaused", [view.hostname]);
    case "disabled":
      return msg("titleDisabled");
    case "private":
      return msg("titlePrivate");
    case "local":
      return msg("titleLocal", [view.hostname]);
    default:
      return msg("extShortName");
  }
}

/** The tooltip for a site that could not be checked: by whom, and why, as it happened. */
function errorTitleKey(error) {
  if (error?.kind === "list") return "titleListUnreadable";
  if (error?.kind === "rejected") return error.builtin ? "titleRejectedLocal" : "titleRejected";
  return "titleUnknown";
}
