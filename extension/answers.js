/**
 * The server's answers, stored per hostname in storage.session: asked once, shared by the tabs
 * showing a host, kept for their time to live.
 */

import {
  ERROR_TTL_MS,
  HOST_KEY_PREFIX,
  MAX_CACHED_HOSTS,
  PARTIAL_TTL_MS,
  hostKey,
  normalizeBackendUrl,
} from "./common.js";
import { BackendError, checkDomain, ttlFor } from "./api.js";

export async function getCached(hostname, backendUrl) {
  const key = hostKey(hostname);
  const entry = (await chrome.storage.session.get(key))[key];
  if (!entry || entry.backendUrl !== backendUrl || entry.expires <= Date.now()) return null;
  return entry;
}

// Deduplicates concurrent requests for one hostname (two tabs, or two events for one page). The
// entry is set before any await, so a second caller either joins it or finds the stored answer.
// Losing the map when the worker stops costs at most one extra request, so it may live in memory.
const inFlight = new Map();

export function getVerdict(hostname, backendUrl) {
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

export async function clearCache() {
  const all = await chrome.storage.session.get(null);
  const keys = Object.keys(all).filter((key) => key.startsWith(HOST_KEY_PREFIX));
  if (keys.length) await chrome.storage.session.remove(keys);
}

/** Drops expired answers, and the oldest ones beyond MAX_CACHED_HOSTS (storage.session is small). */
export async function pruneCache() {
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
