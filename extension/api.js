/**
 * Calls to the caseflag server (each with a timeout, failures as BackendError with a kind), and the
 * pure mapping from an answer to what the toolbar shows. No storage, no UI strings here.
 */

import {
  HEALTH_TIMEOUT_MS,
  INDEX_TIMEOUT_MS,
  PARTIAL_TTL_MS,
  REQUEST_TIMEOUT_MS,
  VERDICT_TTL_MS,
} from "./common.js";

// In order of precedence: an answer has the first level that applies.
export const LEVELS = Object.freeze(["target", "party", "related", "infrastructure", "none"]);

export const NO_BADGE = Object.freeze({ text: "", color: null, textColor: null });

/**
 * Why the server could not give an answer. kind is one of:
 * unreachable (no connection), timeout, permission (no host permission for the server),
 * rejected (a 4xx answer, e.g. a name that is not public), server (5xx or 429), invalid (not the
 * contract).
 */
export class BackendError extends Error {
  constructor(kind, message, { status = null, code = null } = {}) {
    super(message);
    this.name = "BackendError";
    this.kind = kind;
    this.status = status;
    this.code = code;
  }

  toJSON() {
    return { kind: this.kind, message: this.message, status: this.status, code: this.code };
  }
}

/** GET {backend}/api/v1/check?domain=<hostname>: the hostname is the only thing sent. */
export async function checkDomain(backendUrl, hostname, { timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const url = `${backendUrl}/api/v1/check?domain=${encodeURIComponent(hostname)}`;
  return validateResult(await getJson(url, timeoutMs));
}

/** GET {backend}/healthz: resolves to its JSON body, rejects with a BackendError. */
export async function checkHealth(backendUrl, { timeoutMs = HEALTH_TIMEOUT_MS } = {}) {
  const body = await getJson(`${backendUrl}/healthz`, timeoutMs);
  if (body.status !== "ok") {
    throw new BackendError("invalid", "the address answers, but not as a caseflag server does");
  }
  return body;
}

/**
 * GET {backend}/api/v1/dataset/index, the whole list for the built-in matcher. With the ETag of the
 * copy we have, a server that has nothing newer answers 304: resolves to { status: 304 }, or to
 * { status: 200, index, etag }. A body that is not JSON (cut short, say) rejects as "invalid".
 */
export async function fetchIndex(backendUrl, etag = null, { timeoutMs = INDEX_TIMEOUT_MS } = {}) {
  const headers = { Accept: "application/json" };
  if (etag) headers["If-None-Match"] = etag;
  const response = await send(`${backendUrl}/api/v1/dataset/index`, timeoutMs, headers);
  if (response.status === 304) return { status: 304 };
  if (!response.ok) {
    const kind = response.status >= 500 || response.status === 429 ? "server" : "rejected";
    throw new BackendError(kind, `HTTP ${response.status} ${response.statusText}`.trim(), {
      status: response.status,
    });
  }
  let index;
  try {
    index = await response.json();
  } catch (err) {
    throw new BackendError("invalid", `the list is not whole JSON (${String(err?.message || err)})`, {
      status: response.status,
    });
  }
  return { status: 200, index, etag: response.headers.get("ETag") };
}

async function send(url, timeoutMs, headers = { Accept: "application/json" }) {
  try {
    return await fetch(url, {
      method: "GET",
      credentials: "omit",
      // The index keeps its own ETag; the browser's HTTP cache is not needed for either call.
      cache: "no-store",
      referrerPolicy: "no-referrer",
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    if (err?.name === "TimeoutError" || err?.name === "AbortError") {
      throw new BackendError("timeout", `no answer within ${timeoutMs / 1000} s`);
    }
    throw new BackendError("unreachable", String(err?.message || err));
  }
}

async function getJson(url, timeoutMs) {
  const response = await send(url, timeoutMs);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && typeof body === "object" ? body.error : null;
    const message =
      typeof error?.message === "string"
        ? error.message
        : `HTTP ${response.status} ${response.statusText}`.trim();
    // 429 (asked too often) passes like a server failure; other 4xx mean "will not check this".
    const kind = response.status >= 500 || response.status === 429 ? "server" : "rejected";
    throw new BackendError(kind, message, {
      status: response.status,
      code: typeof error?.code === "string" ? error.code : null,
    });
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new BackendError("invalid", "the answer is not a JSON object", { status: response.status });
  }
  return body;
}

/** The answer, with the parts the UI relies on checked and missing lists filled in. */
export function validateResult(body) {
  const level = body?.verdict?.level;
  if (!LEVELS.includes(level) || typeof body.hostname !== "string") {
    throw new BackendError("invalid", "the answer has no verdict level or hostname");
  }
  const infrastructure =
    body.infrastructure && typeof body.infrastructure === "object" ? body.infrastructure : {};
  return {
    ...body,
    verdict: {
      ...body.verdict,
      reasons: Array.isArray(body.verdict.reasons) ? body.verdict.reasons : [],
    },
    matches: Array.isArray(body.matches) ? body.matches : [],
    infrastructure: {
      ...infrastructure,
      status: typeof infrastructure.status === "string" ? infrastructure.status : "skipped",
      addresses: Array.isArray(infrastructure.addresses) ? infrastructure.addresses : [],
      providers: Array.isArray(infrastructure.providers) ? infrastructure.providers : [],
    },
  };
}

/** How long to reuse an answer: shorter when its DNS part is unknown, so it is asked again. */
export function ttlFor(result) {
  return result.infrastructure.status === "unavailable" ? PARTIAL_TTL_MS : VERDICT_TTL_MS;
}

/** verdict -> { text, color, textColor }: the answer's own badge (the server words and colours it), or none. */
export function badgeFor(result) {
  const level = result?.verdict?.level;
  const given = result?.verdict?.badge && typeof result.verdict.badge === "object" ? result.verdict.badge : {};
  if (!LEVELS.includes(level) || level === "none" || !isHexColor(given.color)) return NO_BADGE;
  let text = typeof given.text === "string" ? given.text.trim() : "";
  if (!text && level === "infrastructure") {
    text =
      providersOf(result).find((p) => typeof p.short_label === "string" && p.short_label)?.short_label ?? "";
  }
  text = (text || "?").slice(0, 4);
  return { text, color: given.color, textColor: readableTextColor(given.color) };
}

/** The one-line tooltip as [message key, substitutions]. */
export function titleFor(result) {
  const host = displayHostname(result);
  const level = result.verdict.level;
  const subject = result.matches.find((m) => m?.matched_by !== "provider") ?? result.matches[0];
  const name = typeof subject?.entity?.name === "string" ? subject.entity.name : "";
  if (level === "target") return name ? ["titleTarget", [host, name]] : ["titleTargetNoName", [host]];
  if (level === "party") return name ? ["titleParty", [host, name]] : ["titlePartyNoName", [host]];
  if (level === "related") {
    const other = relatedInCases(result)[0]?.related;
    return name && other?.name ? ["titleRelated", [host, name, other.name]] : ["titleRelatedNoName", [host]];
  }
  if (level === "infrastructure") {
    const provider = providersOf(result)[0]?.name;
    return provider ? ["titleInfrastructure", [host, provider]] : ["titleInfrastructureNoName", [host]];
  }
  if (result.infrastructure.status === "unavailable") return ["titleNoneInfraUnknown", [host]];
  return ["titleNone", [host]];
}

/**
 * The entities the site's own entities are related to (successor, predecessor, mirror, operator)
 * that take part in cases: [{ match, related }], in the answer's order.
 */
export function relatedInCases(result) {
  const found = [];
  for (const match of Array.isArray(result?.matches) ? result.matches : []) {
    if (!match || match.matched_by === "provider" || !Array.isArray(match.related)) continue;
    for (const related of match.related) {
      if (related && typeof related === "object" && Array.isArray(related.cases) && related.cases.length) {
        found.push({ match, related });
      }
    }
  }
  return found;
}

export function displayHostname(result) {
  return typeof result.hostname_unicode === "string" && result.hostname_unicode
    ? result.hostname_unicode
    : result.hostname;
}

function providersOf(result) {
  const providers = result?.infrastructure?.providers;
  return Array.isArray(providers) ? providers.filter((p) => p && typeof p === "object") : [];
}

/** Sources in the given UI language first, the server's order kept otherwise. */
export function sortSources(sources, uiLang) {
  const primary = String(uiLang || "")
    .split(/[-_]/)[0]
    .toLowerCase();
  const list = Array.isArray(sources) ? sources.filter((s) => s && typeof s === "object") : [];
  const rank = (s) =>
    String(s.language || "")
      .split(/[-_]/)[0]
      .toLowerCase() === primary
      ? 0
      : 1;
  return list
    .map((s, i) => [s, i])
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1])
    .map(([s]) => s);
}

/** Only http(s) links are ever rendered. */
export function isHttpUrl(value) {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

function isHexColor(value) {
  return typeof value === "string" && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value);
}

/** Black or white, whichever reads better on the badge colour (WCAG relative luminance). */
export function readableTextColor(hex) {
  let digits = hex.slice(1);
  if (digits.length === 3) digits = [...digits].map((d) => d + d).join("");
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(digits.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 0.179 ? "#000000" : "#ffffff";
}
