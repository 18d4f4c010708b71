/**
 * The popup: what caseflag knows about the site in a tab, in plain words. The first screen holds
 * the site, the verdict and the actions (pause, turn off, report); the entities, cases and
 * reporting follow, folded beyond the first few. Opened with ?tab=<id> it shows that tab (used by
 * the tests); otherwise the active tab. Every text from the server is set with textContent.
 */

import {
  REQUEST_TIMEOUT_MS,
  ask,
  localize,
  msg,
  openExtensionPage,
  saveSettings,
  setSitePaused,
} from "../common.js";
import { displayHostname, relatedInCases, sortSources } from "../api.js";
import { LANG, formatDate } from "../format.js";
import { projectInfo, reportUrl } from "../report.js";
import { i18nLookup, renderMessage } from "../messages.js";
import { fillSource, term } from "../reporting.js";

const MAX_ALIASES = 8;
const SOURCES_SHOWN = 3; // per case; the rest fold away
const OPEN_CASES_MAX = 3;
const CASES_SHOWN = 3; // per entity; the rest fold away
const MATCHES_SHOWN = 2; // entities; the rest fold away
const SHOWN_ENTITY_STATUSES = new Set(["offline", "seized"]);
const $ = (id) => document.getElementById(id);

localize();

let tabId = null;

for (const id of ["open-options", "infra-settings"]) {
  $(id).addEventListener("click", () => {
    chrome.runtime.openOptionsPage();
    window.close();
  });
}
$("open-list").addEventListener("click", () => {
  openExtensionPage("list/list.html");
  window.close();
});
$("recheck").addEventListener("click", () => act(() => ask("recheck", { tabId }), false));
$("enable").addEventListener("click", () => act(() => saveSettings({ enabled: true })));
$("turn-off").addEventListener("click", () => act(() => saveSettings({ enabled: false })));
$("resume").addEventListener("click", (event) =>
  act(() => setSitePaused(event.currentTarget.dataset.site, false)),
);
$("pause").addEventListener("click", (event) =>
  act(() => setSitePaused(event.currentTarget.dataset.site, true)),
);

main().catch(showFailure);

async function main() {
  tabId = await targetTabId();
  if (tabId === null) {
    render({ state: "unsupported" });
    return;
  }
  render(await ask("getTabView", { tabId }));
}

async function targetTabId() {
  const requested = Number.parseInt(new URLSearchParams(location.search).get("tab") ?? "", 10);
  if (Number.isInteger(requested) && requested >= 0) return requested;
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab?.id ?? null;
}

/** Runs a button's action, then shows the tab afresh; the worker reacts to option changes itself. */
async function act(action, refresh = true) {
  for (const button of document.querySelectorAll(".actions button")) button.disabled = true;
  try {
    const view = await action();
    render(refresh || !view ? await ask("getTabView", { tabId }) : view);
  } catch (err) {
    showFailure(err);
  } finally {
    for (const button of document.querySelectorAll(".actions button")) button.disabled = false;
  }
}

// ---- rendering ----------------------------------------------------------------------------------

const SECTIONS = ["loading", "site", "verdict", "fallback", "notice", "matches", "infrastructure"];
const ACTIONS = ["pause", "resume", "enable", "recheck", "turn-off", "report"];

function render(view) {
  for (const id of [...SECTIONS, ...ACTIONS]) $(id).hidden = true;
  $("source").textContent = "";

  if (view.hostname) renderSite(view);
  // Off can be chosen wherever caseflag is at work; on, where it is off.
  $("turn-off").hidden = !view.hostname || view.state === "disabled";

  switch (view.state) {
    case "result":
      renderResult(view.result, view);
      renderFallback(view);
      renderAnswerSource(view);
      showPause(view.result.registrable_domain || view.hostname);
      showReport(view);
      $("recheck").hidden = !canRecheck(view);
      break;
    case "checking":
      showNotice("noticeCheckingTitle", "noticeCheckingText", [view.hostname]);
      break;
    case "error":
      renderError(view);
      showPause(view.hostname);
      $("recheck").hidden = !canRecheck(view);
      break;
    case "paused":
      showNotice("noticePausedTitle", "noticePausedText", [view.pausedEntry]);
      $("resume").dataset.site = view.pausedEntry;
      $("resume").hidden = false;
      break;
    case "disabled":
      showNotice("noticeDisabledTitle", "noticeDisabledText");
      $("enable").hidden = false;
      break;
    case "private":
      showNotice("noticePrivateTitle", "noticePrivateText");
      break;
    case "local":
      showNotice("noticeLocalTitle", "noticeLocalText", [view.hostname], refusalIn(view.refusal));
      break;
    default:
      showNotice("noticeUnsupportedTitle", "noticeUnsupportedText");
  }
}

/** Asking again can change the answer only when a server is asked (the built-in list is fixed). */
function canRecheck(view) {
  return view.mode === "server" && view.fallback?.kind !== "consent" && !view.error?.builtin;
}

function renderSite(view) {
  const result = view.result;
  const shown = result ? displayHostname(result) : view.hostname;
  $("hostname").textContent = shown;
  const registrable = text(result?.registrable_domain);
  const differs = registrable && registrable !== shown && registrable !== view.hostname;
  $("registrable").textContent = differs ? msg("popupPartOf", [registrable]) : "";
  $("registrable").hidden = !differs;
  $("site").hidden = false;
}

function showPause(site) {
  if (!site) return;
  $("pause").textContent = msg("popupPauseSite", [site]);
  $("pause").dataset.site = site;
  $("pause").hidden = false;
}

/** The issue form, filled in; a plain link, so the browser opens it in a tab and caseflag sends nothing. */
function showReport(view) {
  const result = view.result;
  const level = result.verdict.level;
  const subject = result.matches.find((m) => m?.matched_by !== "provider") ?? result.matches[0];
  const link = $("report");
  link.textContent = msg(level === "none" ? "popupSuggest" : "popupReport");
  projectInfo()
    .then((info) => {
      link.href = reportUrl(info, {
        hostname: view.hostname,
        level,
        entity: text(subject?.entity?.name) || text(subject?.entity?.id),
        datasetVersion: text(result.dataset_version) || text(view.source?.version),
      });
      link.hidden = false;
    })
    .catch(() => {
      link.hidden = true; // without the project's address there is nowhere to report to
    });
}

function showNotice(titleKey, textKey, substitutions = [], detail = "") {
  $("notice-title").textContent = msg(titleKey, substitutions);
  $("notice-text").textContent = msg(textKey, substitutions);
  $("notice-detail").textContent = detail;
  $("notice-detail").hidden = !detail;
  $("notice").hidden = false;
}

/** The popup's own failure, in plain words: the browser's error text means nothing to a reader. */
function showFailure() {
  $("loading").hidden = true;
  showNotice("noticeFailedTitle", "noticeFailedText");
}

/**
 * One footer line: which list or server answered, and when. "Nothing was sent" only when no
 * request about this site was made; after a server was asked, the notice above says what was sent.
 */
function renderAnswerSource(view) {
  const source = view.source || {};
  const result = view.result || {};
  if (source.kind === "server") {
    const when = text(result.checked_at) || (view.savedAt ? new Date(view.savedAt).toISOString() : "");
    $("source").textContent = msg("popupSourceServerLine", [
      text(source.url),
      formatDate(when),
      text(result.dataset_version),
    ]);
    return;
  }
  const asked = view.fallback && view.fallback.kind !== "consent";
  $("source").textContent = msg(asked ? "popupSourceBuiltinOnly" : "popupSourceBuiltin", [
    text(source.version),
    formatDate(text(source.date)),
  ]);
}

// A server that answered at all (an error status, or a body that is not an answer) received the
// host name; with no answer (a timeout, a refused connection, an answer the browser would not let
// caseflag read) whether the request arrived is unknown, and the words say so.
const FALLBACK_WORDS = {
  server: "fallbackServerError",
  invalid: "fallbackInvalid",
  timeout: "fallbackTimeout",
  unreachable: "fallbackUnreachable",
  permission: "fallbackPermission",
};

/** Why the built-in list answered in server mode, and what was sent. */
function renderFallback(view) {
  const fallback = view.fallback;
  if (!fallback) return;
  const url = text(view.backendUrl);
  if (fallback.kind === "consent") {
    $("fallback-title").textContent = msg("noticeConsentTitle");
    $("fallback-text").textContent = msg("noticeFallbackConsent", [url]);
  } else {
    let key = FALLBACK_WORDS[fallback.kind] ?? "fallbackUnreachable";
    const status = Number.isInteger(fallback.status) ? String(fallback.status) : "";
    if (key === "fallbackServerError" && fallback.status === 429) key = "fallbackBusy";
    if (key === "fallbackServerError" && !status) key = "fallbackInvalid";
    $("fallback-title").textContent = msg("fallbackTitle");
    $("fallback-text").textContent = msg(key, [
      view.hostname,
      url,
      key === "fallbackTimeout" ? String(REQUEST_TIMEOUT_MS / 1000) : status,
    ]);
  }
  $("fallback").hidden = false;
}

function renderError(view) {
  const error = view.error || {};
  if (error.kind === "list") {
    showNotice("noticeListTitle", "noticeListText");
  } else if (error.kind === "rejected" && error.builtin) {
    showNotice("noticeRejectedTitle", "noticeRejectedLocal", [view.hostname]);
  } else if (error.kind === "rejected") {
    const status = Number.isInteger(error.status) ? String(error.status) : "4xx";
    showNotice("noticeRejectedTitle", "noticeRejectedSent", [view.hostname, text(view.backendUrl), status]);
  } else {
    showNotice("noticeFailedTitle", "noticeFailedText");
  }
}

function renderResult(result, view) {
  const level = result.verdict.level;
  const subject = result.matches.find((m) => m?.matched_by !== "provider") ?? result.matches[0];
  const provider = result.infrastructure.providers[0];
  const name = text(subject?.entity?.name);

  const box = $("verdict");
  box.dataset.level = level;
  $("verdict-title").textContent = msg(`verdictTitle_${level}`);
  let words;
  if (level === "target" || level === "party") {
    words = name ? msg(`verdictText_${level}`, [name]) : msg(`verdictTextNoName_${level}`);
  } else if (level === "related") {
    const other = relatedInCases(result)[0]?.related;
    words =
      name && other?.name
        ? msg("verdictText_related", [name, text(other.name)])
        : msg("verdictTextNoName_related");
  } else if (level === "infrastructure") {
    words = msg("verdictText_infrastructure", [text(provider?.name) || "?"]);
  } else {
    words = msg(
      result.infrastructure.status === "unavailable" ? "verdictText_noneUnknown" : "verdictText_none",
    );
  }
  $("verdict-text").textContent = words;
  const reasons = reasonsIn(result.verdict);
  $("reasons").replaceChildren(...reasons.map((reason) => listItem(reason)));
  $("reasons-box").hidden = reasons.length === 0;
  box.hidden = false;

  renderMatches(result.matches.filter((m) => m?.entity && typeof m.entity === "object"));

  if (infrastructureApplies(result.infrastructure, view)) renderInfrastructure(result.infrastructure, view);
}

/** The first few entities in full; the others folded under "N more entities". */
function renderMatches(matches) {
  $("match-list").replaceChildren(...matches.slice(0, MATCHES_SHOWN).map(renderMatch));
  const rest = matches.slice(MATCHES_SHOWN);
  $("more-match-list").replaceChildren(...rest.map(renderMatch));
  $("more-matches").querySelector("summary").textContent = msg("popupMoreEntities", [String(rest.length)]);
  $("more-matches").hidden = rest.length === 0;
  $("matches").hidden = matches.length === 0;
}

/**
 * The built-in list makes no DNS lookups: without the browser's own connection it cannot know who
 * serves a site, so a "not checked" block would only say what cannot apply in that mode.
 */
function infrastructureApplies(infrastructure, view) {
  if (view.source?.kind !== "builtin") return true;
  return (
    infrastructure.providers.length > 0 ||
    infrastructure.status === "resolved" ||
    infrastructure.reason_code === "never_resolved" // an onion name: why nothing is known of it
  );
}

/** A match's cases: the first few listed (open when there are few), the rest folded. */
function fillCases(node, cases, open) {
  node.querySelector(".case-list").replaceChildren(
    ...cases.slice(0, CASES_SHOWN).map((item) => renderCase(item, open)),
  );
  const rest = cases.slice(CASES_SHOWN);
  const more = node.querySelector(".more-cases");
  more.querySelector("summary").textContent = msg("popupMoreCases", [String(rest.length)]);
  more.querySelector(".case-list-more").replaceChildren(...rest.map((item) => renderCase(item, false)));
  more.hidden = rest.length === 0;
  node.querySelector(".cases").hidden = false;
}

function renderMatch(match) {
  const node = fromTemplate("match-template");
  const entity = match.entity;
  node.querySelector(".entity-name").textContent = text(entity.name) || text(entity.id);
  if (match.role) {
    const chip = node.querySelector(".role");
    chip.textContent = term("role_", match.role);
    chip.hidden = false;
  }
  const status = SHOWN_ENTITY_STATUSES.has(entity.status) ? term("entityStatus_", entity.status) : "";
  node.querySelector(".entity-meta").textContent = [term("kind_", entity.kind), status, matchedBy(match)]
    .filter(Boolean)
    .join(" · ");
  const description = node.querySelector(".entity-description");
  description.textContent = text(entity.description);
  description.hidden = !description.textContent;

  if (match.matched_by !== "provider") {
    const chains = (Array.isArray(match.related) ? match.related : []).filter(
      (other) => other && typeof other === "object" && Array.isArray(other.cases) && other.cases.length,
    );
    node.querySelector(".chains").replaceChildren(...chains.map((other) => renderChain(match, other)));
  }

  const related = relatedItems(match);
  if (related.length) {
    node.querySelector(".related-list").replaceChildren(...related.map((line) => listItem(line)));
    node.querySelector(".related").hidden = false;
  }

  const cases = Array.isArray(match.cases) ? match.cases.filter((c) => c && typeof c === "object") : [];
  if (cases.length) {
    // The site's own cases start open; a provider's cases (often many) start folded.
    const open = match.matched_by !== "provider" && cases.length <= OPEN_CASES_MAX;
    fillCases(node, cases, open);
  }
  return node;
}

function matchedBy(match) {
  const domain = text(match.matched_domain);
  switch (match.matched_by) {
    case "registrable_domain":
      return domain ? msg("matchedByDomain", [domain]) : "";
    case "hostname":
      return domain ? msg("matchedByHostname", [domain]) : "";
    case "alias":
      return domain ? msg("matchedByAlias", [domain, term("relation_", match.relation).toLowerCase()]) : "";
    case "provider":
      return msg("matchedByProvider");
    default:
      return "";
  }
}

const CHAIN_RELATIONS = new Set(["predecessor", "successor", "mirror", "operator"]);

/** "MEGA is the successor of Megaupload, the defendant in “…”", then that one's cases and reporting. */
function renderChain(match, other) {
  const node = fromTemplate("chain-template");
  const cases = other.cases.filter((c) => c && typeof c === "object");
  const first = cases[0] ?? {};
  const relation = CHAIN_RELATIONS.has(other.relation) ? other.relation : "other";
  const role = text(first.role) || text(other.role);
  const roleKey = `roleWords_${role.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const roleWords = role ? chrome.i18n.getMessage(roleKey) || role : "";
  node.querySelector(".chain-text").textContent = msg(`relatedChain_${relation}`, [
    text(match.entity?.name) || text(match.entity?.id),
    text(other.name) || text(other.id),
    roleWords || msg("roleWords_named"),
    text(first.title) || text(first.id),
    term("relation_", other.relation),
  ]);
  const open = cases.length <= OPEN_CASES_MAX;
  node.querySelector(".case-list").replaceChildren(...cases.map((item) => renderCase(item, open)));
  return node;
}

/** Successors, predecessors and the entity's other domains (mirrors, former names, redirects). */
function relatedItems(match) {
  const lines = [];
  for (const other of Array.isArray(match.related) ? match.related : []) {
    if (!other || typeof other !== "object") continue;
    const domains = Array.isArray(other.domains) ? other.domains.filter((d) => typeof d === "string") : [];
    const label = term("relation_", other.relation);
    lines.push(
      domains.length
        ? msg("relatedWithDomains", [label, text(other.name), domains.join(", ")])
        : msg("relatedEntity", [label, text(other.name)]),
    );
  }
  const aliases = (Array.isArray(match.aliases) ? match.aliases : []).filter(
    (a) => a && typeof a.domain === "string",
  );
  const byRelation = new Map();
  for (const alias of aliases) {
    const list = byRelation.get(alias.relation) ?? [];
    list.push(alias.domain);
    byRelation.set(alias.relation, list);
  }
  for (const [relation, domains] of byRelation) {
    const shown = domains.slice(0, MAX_ALIASES).join(", ");
    const more = domains.length - MAX_ALIASES;
    lines.push(
      more > 0
        ? msg("relatedDomainsMore", [term("relation_", relation), shown, String(more)])
        : msg("relatedDomains", [term("relation_", relation), shown]),
    );
  }
  return lines;
}

function renderSource(source) {
  return fillSource(fromTemplate("source-template"), source);
}

function renderCase(item, open) {
  const node = fromTemplate("case-template");
  node.querySelector(".case-box").open = open;
  node.querySelector(".case-title").textContent = text(item.title) || text(item.id);
  const meta = [
    term("caseType_", item.type),
    formatDate(item.date),
    item.status ? term("status_", item.status) : "",
    text(item.court),
    item.role ? msg("caseRole", [term("role_", item.role)]) : "",
  ];
  node.querySelector(".case-meta").textContent = meta.filter(Boolean).join(" · ");
  const summary = node.querySelector(".case-summary");
  summary.textContent = text(item.summary);
  summary.hidden = !summary.textContent;
  const sources = sortSources(item.sources, LANG);
  if (sources.length) {
    node.querySelector(".sources").replaceChildren(...sources.slice(0, SOURCES_SHOWN).map(renderSource));
    node.querySelector(".sources-label").hidden = false;
  }
  const rest = sources.slice(SOURCES_SHOWN);
  if (rest.length) {
    const more = node.querySelector(".more-sources");
    more.querySelector("summary").textContent = msg("popupMoreSources", [String(rest.length)]);
    more.querySelector(".sources-more").replaceChildren(...rest.map(renderSource));
    more.hidden = false;
  }
  return node;
}


function renderInfrastructure(infrastructure, view = {}) {
  const providers = infrastructure.providers.filter((p) => p && typeof p === "object");
  const addresses = infrastructure.addresses.filter((a) => typeof a === "string");
  const reason = text(infrastructure.reason) || msg("reasonNotGiven");
  let status = "";
  switch (infrastructure.status) {
    case "resolved":
      if (!providers.length) {
        status = addresses.length ? msg("infraNoProvider", [addresses.join(", ")]) : msg("infraNoAddresses");
      }
      break;
    case "nxdomain":
      status = msg("infraNxdomain");
      break;
    case "unavailable":
      status = msg("infraUnavailable", [reason]);
      break;
    default:
      // The built-in list's own reasons are English; it says why with a code.
      if (infrastructure.reason_code === "never_resolved") status = msg("infraNeverResolved");
      else if (view.source?.kind === "builtin") status = msg("infraBuiltinSkipped");
      else status = msg("infraSkipped", [reason]);
  }
  $("infra-status").textContent = status;
  $("infra-status").hidden = !status;
  $("infra-providers").replaceChildren(...providers.map((p) => listItem(describeProvider(p))));
  // The built-in list knows who serves a site only from the browser's own connection.
  const builtin = view.source?.kind === "builtin";
  let hint = "";
  if (builtin && infrastructure.status === "skipped") {
    hint = view.connectionAllowed ? msg("infraHintReload") : msg("infraHintPermission");
  }
  $("infra-hint-text").textContent = hint;
  $("infra-settings").hidden = !builtin || view.connectionAllowed === true;
  $("infra-hint").hidden = !hint;
  $("infrastructure").hidden = false;
}

/** "Served by Cloudflare: 104.21.16.1 is in 104.16.0.0/13; nameservers *.ns.cloudflare.com" */
function describeProvider(provider) {
  const evidence = (Array.isArray(provider.evidence) ? provider.evidence : []).filter(
    (e) => e && typeof e === "object",
  );
  const parts = [];
  const unique = (items) => [...new Set(items.filter(Boolean))];
  for (const item of evidence.filter((e) => e.kind === "ip_range")) {
    parts.push(msg("evidenceIpRange", [text(item.value), text(item.detail)]));
  }
  const asns = unique(evidence.filter((e) => e.kind === "asn").map((e) => text(e.value)));
  if (asns.length) parts.push(msg("evidenceAsn", [asns.join(", ")]));
  const nameservers = unique(
    evidence.filter((e) => e.kind === "nameserver").map((e) => text(e.detail) || text(e.value)),
  );
  if (nameservers.length) parts.push(msg("evidenceNameservers", [nameservers.join(", ")]));
  for (const item of evidence.filter((e) => e.kind === "cname")) {
    parts.push(msg("evidenceCname", [text(item.value)]));
  }
  for (const item of evidence.filter((e) => e.kind === "header")) {
    parts.push(msg("evidenceHeader", [text(item.value)]));
  }
  const known = ["ip_range", "asn", "nameserver", "cname", "header"];
  for (const item of evidence.filter((e) => !known.includes(e.kind))) {
    parts.push([text(item.kind), text(item.value), text(item.detail)].filter(Boolean).join(" "));
  }
  const name = text(provider.name) || text(provider.id);
  if (provider.serves === false) {
    // Only its nameservers are the provider's: it answers the site's DNS, which is not serving it.
    const lookup = i18nLookup((key) => chrome.i18n.getMessage(key));
    return renderMessage(lookup, "dns_answered_by", { provider: name, evidence });
  }
  return parts.length ? msg("servedBy", [name, parts.join("; ")]) : msg("servedByNoEvidence", [name]);
}

// ---- small helpers ------------------------------------------------------------------------------

function fromTemplate(id) {
  const fragment = $(id).content.cloneNode(true);
  localize(fragment);
  return fragment.firstElementChild;
}

function listItem(content) {
  const li = document.createElement("li");
  li.textContent = content;
  return li;
}

function text(value) {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

/** What the built-in list says a name that is never checked is (reserved, local, …), in the UI's language. */
function refusalIn(explanation) {
  const lookup = i18nLookup((key) => chrome.i18n.getMessage(key));
  return typeof explanation?.code === "string" && lookup(explanation.code) !== undefined
    ? renderMessage(lookup, explanation.code, explanation.params)
    : "";
}

/**
 * The verdict's reasons in the UI's language: each explanation worded by the catalogue in _locales; the
 * answer's own sentence where an explanation's code is not in this version's catalogue.
 */
function reasonsIn(verdict) {
  const lookup = i18nLookup((key) => chrome.i18n.getMessage(key));
  const given = Array.isArray(verdict.reasons) ? verdict.reasons : [];
  const explained = Array.isArray(verdict.explanations) ? verdict.explanations : [];
  const reasons = explained.length
    ? explained.map((item, i) =>
        (typeof item?.code === "string" && lookup(item.code) !== undefined
          ? renderMessage(lookup, item.code, item.params)
          : given[i]))
    : given;
  return reasons.filter((r) => typeof r === "string" && r);
}

/** A translated word for a known value (role, kind, status, relation); the value itself otherwise. */
