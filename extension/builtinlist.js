/**
 * The built-in list: the bundled one, or a newer one downloaded from the server in server mode,
 * prepared once per worker for local.js.
 */

import { INDEX_CHECK_KEY, INDEX_KEY, INDEX_UPDATE_INTERVAL_MS, normalizeBackendUrl } from "./common.js";
import { BackendError, fetchIndex } from "./api.js";
import { prepareIndex, validateIndex } from "./local.js";

// The prepared list, made once per worker from storage.local or the bundled file: a cache of what
// is stored, so losing it when the worker stops costs only the time to prepare it again.
let preparedList = null;

/** Drops the prepared list (the stored one changed); the next check prepares it again. */
export function forgetList() {
  preparedList = null;
}

/** { index, prepared, meta: { version, date, format, origin: "bundled" | "downloaded", server? } } */
export function currentIndex() {
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
export function updateIndex(settings, options = {}) {
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

export async function listInfo() {
  const [list, check] = await Promise.all([
    currentIndex(),
    chrome.storage.local.get(INDEX_CHECK_KEY).then((all) => all[INDEX_CHECK_KEY] ?? null),
  ]);
  return { list: list.meta, lastCheck: check };
}
