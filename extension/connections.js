/**
 * The tab's own connection, read only with the optional permission: the address the browser
 * connected to for its page, and the few response headers a provider in the list is known by.
 */

import { CONNECTION_KEY_PREFIX, classifyUrl, connectionKey } from "./common.js";
import { currentIndex } from "./builtinlist.js";

// Only these headers are kept: the ones some provider in the list is recognised by.
const FALLBACK_CONNECTION_HEADERS = ["cf-ray", "server"];
const MAX_HEADER_VALUE = 200;

/**
 * The address the browser connected to for a tab's page, and the few CDN headers of the response,
 * kept per tab in storage.session: the hostname, never the URL. No request is made for this.
 * Resolves to the page's hostname, or null for a response that is not a tab's page.
 */
export async function recordConnection(details) {
  if (details.tabId < 0 || details.frameId !== 0) return null;
  const target = classifyUrl(details.url);
  if (!target.hostname) return null;
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
  return target.hostname;
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
export async function connectionFor(tabId, hostname) {
  const key = connectionKey(tabId);
  const connection = (await chrome.storage.session.get(key))[key];
  if (!connection || connection.hostname !== hostname) return null;
  return { ip: connection.ip, headers: connection.headers ?? {} };
}

export async function forgetConnections() {
  const all = await chrome.storage.session.get(null);
  const keys = Object.keys(all).filter((key) => key.startsWith(CONNECTION_KEY_PREFIX));
  if (keys.length) await chrome.storage.session.remove(keys);
}
