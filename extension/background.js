/**
 * Service worker (an event page in Firefox): checks each committed http(s) page's hostname with the
 * caseflag server and shows the verdict on the toolbar button of that tab.
 *
 * The worker may be stopped at any time, so it keeps nothing only in memory: per-tab state and
 * answers live in storage.session, options in storage.local. Listeners are registered at the top
 * level so the browser can wake the worker for them, and each awaits `ready`.
 */

import {
  ERROR_TTL_MS,
  HOST_KEY_PREFIX,
  MAX_CACHED_HOSTS,
  PARTIAL_TTL_MS,
  SETTING_KEYS,
  TAB_KEY_PREFIX,
  classifyUrl,
  getSettings,
  hostKey,
  msg,
  normalizeBackendUrl,
  pausedEntryFor,
  tabKey,
} from "./common.js";
import { BackendError, NO_BADGE, badgeFor, checkDomain, titleFor, ttlFor } from "./api.js";

const ICONS = {
  on: { 16: "/icons/icon-16.png", 32: "/icons/icon-32.png" },
  off: { 16: "/icons/icon-off-16.png", 32: "/icons/icon-off-32.png" },
};

// States in which caseflag is at work on the tab; any other greys the icon out.
const ACTIVE_STATES = new Set(["result", "checking", "unsupported"]);

const ready = initialize();

async function initialize() {
  try {
    await pruneCache();
  } catch {
    // Pruning only saves space; a failure must not keep the listeners waiting for ever.
  }
}

// ---- the message dispatcher -------------------------------------------------------------------

const HANDLERS = {
  /** What the popup shows for a tab: { state, hostname, result?, error?, ... }. */
  async getTabView({ tabId }) {
    return refreshTab(checkedTabId(tabId));
  },
  /** Forgets the stored answer for the tab's hostname and asks the server again. */
  async recheck({ tabId }) {
    const id = checkedTabId(tabId);
    const record = await getTabRecord(id);
    if (record?.hostname) await chrome.storage.session.remove(hostKey(record.hostname));
    return refreshTab(id);
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
  await chrome.storage.session.remove(tabKey(tabId));
});

chrome.storage.onChanged.addListener(async (changes, area) => {
  if (area !== "local" || !SETTING_KEYS.some((key) => key in changes)) return;
  await ready;
  if ("backendUrl" in changes) await clearCache();
  await refreshAllTabs();
});

chrome.runtime.onInstalled.addListener(async () => {
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
  if (record && record.hostname === (target.hostname ?? null) && record.skip === (target.skip ?? null))
    return;
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
 * Works out what to show for a tab, asking the server when nothing fresh is stored, and shows it
 * on the toolbar button. Returns the view the popup renders.
 */
async function refreshTab(tabId) {
  const [record, settings] = await Promise.all([getTabRecord(tabId), getSettings()]);
  const view = baseView(record, settings);
  if (view.state !== "check") {
    await showOnAction(tabId, view);
    return view;
  }
  let entry = await getCached(view.hostname, settings.backendUrl);
  if (!entry) {
    await showOnAction(tabId, { ...view, state: "checking" });
    entry = await getVerdict(view.hostname, settings.backendUrl);
  }
  const done = entry.result
    ? { ...view, state: "result", result: entry.result, savedAt: entry.savedAt }
    : { ...view, state: "error", error: entry.error, savedAt: entry.savedAt };
  // The tab may have moved on while the server was asked; its own check shows its own answer.
  const now = await getTabRecord(tabId);
  if (now?.navigation === record.navigation) await showOnAction(tabId, done);
  return done;
}

function baseView(record, settings) {
  if (!record || record.skip === "scheme" || !record.hostname) return { state: "unsupported" };
  const view = { hostname: record.hostname, backendUrl: settings.backendUrl, enabled: settings.enabled };
  if (record.skip === "local") return { ...view, state: "local" };
  if (!settings.enabled) return { ...view, state: "disabled" };
  const pausedEntry = pausedEntryFor(record.hostname, settings.pausedSites);
  if (pausedEntry) return { ...view, state: "paused", pausedEntry };
  if (record.incognito && !settings.checkPrivate) return { ...view, state: "private" };
  return { ...view, state: "check" };
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

function showOnAction(tabId, view) {
  const previous = actionUpdates.get(tabId) ?? Promise.resolve();
  const next = previous.then(() => applyToAction(tabId, view));
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
    chrome.action.setIcon({ tabId, path: ACTIVE_STATES.has(view.state) ? ICONS.on : ICONS.off }),
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

function titleText(view) {
  switch (view.state) {
    case "result": {
      const [key, substitutions] = titleFor(view.result);
      return msg(key, substitutions);
    }
    case "checking":
      return msg("titleChecking", [view.hostname]);
    case "error":
      return msg(view.error?.kind === "rejected" ? "titleRejected" : "titleUnknown", [view.hostname]);
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
