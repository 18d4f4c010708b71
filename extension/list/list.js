/**
 * The list page: every entity and case of the list caseflag uses now (the bundled one, or the one
 * downloaded from a server), searchable by name or domain, with the reporting behind each case.
 * It reads the list from the background worker and asks nothing of any server.
 */

import { ask, localize, msg, normalizeSite } from "../common.js";
import { sortSources } from "../api.js";
import { LANG, formatDate } from "../format.js";
import { projectInfo, reportUrl } from "../report.js";
import { fillSource, term } from "../reporting.js";

const $ = (id) => document.getElementById(id);
const LANG_BASE = LANG.split("-")[0];

localize();

let model = null;

load().catch(() => {
  $("intro").textContent = msg("listLoadFailed");
});

async function load() {
  const { index, meta } = await ask("getList");
  model = buildModel(index);
  $("intro").textContent = msg("listIntro", [String(meta.version), formatDate(String(meta.date))]);
  const project = await projectInfo().catch(() => null);
  $("entity-list").replaceChildren(...model.entities.map((entity) => renderEntity(entity, project, meta)));
  $("case-list").replaceChildren(...model.cases.map(renderCase));
  const search = $("search");
  search.addEventListener("input", () => filter(search.value));
  $("search-form").addEventListener("submit", (event) => event.preventDefault());
  // ?q= preselects a search (the popup's and settings' links carry none; tests and bookmarks may).
  search.value = new URLSearchParams(location.search).get("q") ?? "";
  filter(search.value);
}

// ---- the list as entries --------------------------------------------------------------------------

/** Entities with their domains and cases; cases with their parties and all their reporting. */
function buildModel(index) {
  // The index (format 2) keeps each record's text per language: English in full, German where it differs.
  const entities = array(index.entities)
    .filter((e) => e && typeof e.id === "string")
    .map((e) => ({ ...perLanguage(e.entry?.entity), id: e.id, domains: e.domains, cases: e.entry?.cases, aliases: e.entry?.aliases }));
  const names = new Map(entities.map((e) => [e.id, text(e.name) || e.id]));
  const cases = new Map();
  for (const [id, record] of Object.entries(object(index.cases))) {
    cases.set(id, { id, record: perLanguage(record), parties: [], sourceIds: new Set() });
  }
  for (const entity of entities) {
    for (const [caseId, role, sourceIds] of array(entity.cases).filter(Array.isArray)) {
      const item = cases.get(caseId);
      if (!item) continue;
      item.parties.push({ id: entity.id, role });
      for (const sourceId of array(sourceIds)) item.sourceIds.add(sourceId);
    }
  }
  const sources = object(index.sources);
  return {
    names,
    entities: entities
      .map((entity) => ({
        entity,
        domains: array(entity.domains).filter((d) => typeof d === "string"),
        aliases: array(entity.aliases)
          .map((alias) => (Array.isArray(alias) ? alias[0] : alias?.domain))
          .filter((d) => typeof d === "string"),
      }))
      .sort((a, b) => names.get(a.entity.id).localeCompare(names.get(b.entity.id), LANG)),
    cases: [...cases.values()]
      .map((item) => ({ ...item, sources: [...item.sourceIds].map((id) => sources[id]).filter(Boolean) }))
      .sort((a, b) => String(b.record.date ?? "").localeCompare(String(a.record.date ?? ""))),
    caseById: cases,
  };
}

// ---- search -------------------------------------------------------------------------------------------

/** Shows the entities whose name or domain matches, and the cases that match or involve one of them. */
function filter(query) {
  const words = query.trim().toLowerCase();
  // A pasted address or a subdomain finds the entity of its domain: www.example.org -> example.org.
  const site = words ? normalizeSite(words) : null;
  const shownEntities = new Set();
  for (const [position, item] of model.entities.entries()) {
    const match = !words || entityMatches(item, words, site);
    $("entity-list").children[position].hidden = !match;
    if (match) shownEntities.add(item.entity.id);
  }
  let shownCases = 0;
  for (const [position, item] of model.cases.entries()) {
    const match =
      !words ||
      text(item.record.title).toLowerCase().includes(words) ||
      item.parties.some((party) => shownEntities.has(party.id));
    $("case-list").children[position].hidden = !match;
    if (match) shownCases += 1;
  }
  const shown = shownEntities.size + shownCases;
  const total = model.entities.length + model.cases.length;
  $("count").textContent =
    words && shown === 0 ? msg("listNoMatch", [query.trim()]) : msg("listCount", [String(shown), String(total)]);
}

function entityMatches(item, words, site) {
  const name = `${text(item.entity.name)} ${item.entity.id}`.toLowerCase();
  if (name.includes(words)) return true;
  return [...item.domains, ...item.aliases].some(
    (domain) => domain.includes(words) || (site && (site === domain || site.endsWith("." + domain))),
  );
}

// ---- rendering ----------------------------------------------------------------------------------------

function renderEntity(item, project, meta) {
  const { entity } = item;
  const node = fromTemplate("entity-template");
  node.id = `entity-${entity.id}`;
  node.querySelector(".entry-name").textContent = text(entity.name) || entity.id;
  node.querySelector(".entry-meta").textContent = [term("kind_", entity.kind), statusWord(entity.status)]
    .filter(Boolean)
    .join(" · ");
  const domains = [...item.domains, ...item.aliases];
  node.querySelector(".entry-domains").textContent = domains.length ? msg("listDomains", [domains.join(", ")]) : "";
  node.querySelector(".entry-domains").hidden = domains.length === 0;
  node.querySelector(".entry-description").textContent = localized(entity, "description");
  const lines = array(entity.cases)
    .filter(Array.isArray)
    .map(([caseId, role]) => renderEntityCase(caseId, role))
    .filter(Boolean);
  node.querySelector(".entry-cases").replaceChildren(...lines);
  if (project && item.domains.length) {
    const link = node.querySelector(".report");
    link.href = reportUrl(project, {
      hostname: item.domains[0],
      entity: text(entity.name) || entity.id,
      datasetVersion: String(meta.version ?? ""),
    });
    link.hidden = false;
  }
  return node;
}

function renderEntityCase(caseId, role) {
  const item = model.caseById.get(caseId);
  if (!item) return null;
  const node = fromTemplate("entity-case-template");
  const title = node.querySelector(".case-title");
  title.textContent = localized(item.record, "title") || caseId;
  title.href = `#case-${caseId}`;
  node.querySelector(".case-meta").textContent = [term("role_", role), formatDate(text(item.record.date))]
    .filter(Boolean)
    .join(" · ");
  return node;
}

function renderSource(source) {
  return fillSource(fromTemplate("source-template"), source);
}

function renderCase(item) {
  const node = fromTemplate("case-template");
  const record = item.record;
  node.id = `case-${item.id}`;
  node.querySelector(".entry-name").textContent = localized(record, "title") || item.id;
  node.querySelector(".entry-meta").textContent = [
    term("caseType_", record.type),
    formatDate(text(record.date)),
    term("status_", record.status),
    text(record.court),
  ]
    .filter(Boolean)
    .join(" · ");
  const parties = item.parties.map((party) => {
    const role = term("role_", party.role);
    const name = model.names.get(party.id) ?? party.id;
    return role ? `${name} (${role})` : name;
  });
  node.querySelector(".entry-parties").textContent = parties.length ? msg("listParties", [parties.join(", ")]) : "";
  const sources = sortSources(item.sources, LANG);
  if (sources.length) {
    node.querySelector(".sources").replaceChildren(...sources.map(renderSource));
    node.querySelector(".sources-box").hidden = false;
  }
  return node;
}


// ---- small helpers ------------------------------------------------------------------------------------

function fromTemplate(id) {
  const fragment = $(id).content.cloneNode(true);
  localize(fragment);
  return fragment.firstElementChild;
}

/** A record's text in the reader's language where the list has it (a [de] table), else English. */
function localized(record, field) {
  return text(record?.[LANG_BASE]?.[field]) || text(record?.[field]);
}

/** The catalogue's word for a known value (kind, role, status); the value itself otherwise. */

function statusWord(status) {
  return status === "offline" || status === "seized" ? term("entityStatus_", status) : "";
}

/** A record of the index as its English fields with the German ones under `de`, as `localized` reads it. */
function perLanguage(record) {
  const { en, de } = object(record);
  return { ...object(en), de: object(de) };
}

function text(value) {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

function array(value) {
  return Array.isArray(value) ? value : [];
}

function object(value) {
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}
