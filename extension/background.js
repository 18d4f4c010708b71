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
  CONNECTION_PERMISSION,
  INDEX_KEY,
  SETTING_KEYS,
  TAB_KEY_PREFIX,
  classifyUrl,
  connectionKey,
  getSettings,
  getTabRecord,
  hasConnectionPermission,
  hostKey,
  maySendSites,
  pausedEntryFor,
  tabKey,
} from "./common.js";
import { validateResult } from "./api.js";
import { localCheck } from "./local.js";
import { clearCache, getCached, getVerdict, pruneCache } from "./answers.js";
import { currentIndex, forgetList, listInfo, updateIndex } from "./builtinlist.js";
import { connectionFor, forgetConnections, recordConnection } from "./connections.js";
import { forgetTab, showOnAction } from "./toolbar.js";

const FIRST_RUN_PAGE = "firstrun/firstrun.html";

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
  forgetTab(tabId);
  refreshedTabs.delete(tabId);
  await chrome.storage.session.remove([tabKey(tabId), connectionKey(tabId)]);
});

chrome.storage.onChanged.addListener(async (changes, area) => {
  if (area !== "local") return;
  const settingsChanged = SETTING_KEYS.some((key) => key in changes);
  if (!settingsChanged && !(INDEX_KEY in changes)) return;
  await ready;
  if (INDEX_KEY in changes) forgetList();
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

// The order refreshes started in (see showOnAction), and the tabs this worker has worked out a view
// for (see reconcileTab). Losing them with the worker loses nothing, as no refresh is then running.
let refreshCount = 0;
const refreshedTabs = new Set();

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

// ---- the tab's own connection (only with the optional permission) -----------------------------

function listenToConnections() {
  if (listeningToConnections || !chrome.webRequest?.onResponseStarted) return;
  chrome.webRequest.onResponseStarted.addListener(
    connectionSeen,
    { urls: [...CONNECTION_PERMISSION.origins], types: ["main_frame"] },
    ["responseHeaders"],
  );
  listeningToConnections = true;
}

/** A tab's page responded: its connection is kept, and shown if the page committed before it. */
async function connectionSeen(details) {
  await ready;
  const hostname = await recordConnection(details);
  if (!hostname) return;
  const record = await getTabRecord(details.tabId);
  if (record?.hostname === hostname) await refreshTab(details.tabId);
}
