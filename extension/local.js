/**
 * The built-in list: answers "what is known about this site?" from the index the extension ships
 * (data/index.json, written by `caseflag data export --format extension`), with no server. The server
 * wrote every verdict into the index (each entity's level and explanations, the catalogue that words
 * them); this module finds the registrable domain of the browser's host name, looks it up, and adds
 * the one thing only the browser knows: the provider seen on its own connection.
 *
 *   const index = prepareIndex(json);                 // once per index
 *   localCheck("www.thepiratebay.org", index)        // per navigation: the server's answer shape
 *   localCheck(host, index, { connection: { ip, headers }, lang: "de" })
 */

import { HostRules, Refused, parseCidr, parseIp, toUnicode } from "./hostname.js";

export const INDEX_FORMAT = 2;
const ANSWER_CACHE_SIZE = 4096;
const SENTINEL = "\u0000";

/** A catalogue message filled in, by the rules of server/caseflag/messages.py; lookup(key) gives its text. */
export function renderMessage(lookup, code, params) {
  return fill(lookup(code) ?? "", params ?? {}, lookup);
}

function fill(text, params, lookup) {
  return text.replace(/\{(\w+)(?:\|(\w+))?\}/g, (_, name, section) => {
    const value = params[name];
    if (section === undefined) return value === null || value === undefined ? "" : String(value);
    if (Array.isArray(value)) {
      return value.map((item) => fill(term(lookup, section, item.kind), { ...params, ...item }, lookup)).join("; ");
    }
    return fill(term(lookup, section, value), params, lookup);
  });
}

function term(lookup, section, value) {
  let key = value === null || value === undefined ? "none" : String(value);
  if (typeof value === "number" && lookup(`${section}.${value}`) === undefined) key = "n";
  return lookup(`${section}.${key}`) ?? String(value);
}

// --- the index ----------------------------------------------------------------------------------------

const SHAPE = { format: "number", version: "string", date: "string", messages: "object", badges: "object",
                entities: "array", cases: "object", sources: "object", providers: "array",
                public_suffixes: "object", special_use: "object", not_global: "object" };
const kindOf = (value) => (Array.isArray(value) ? "array" : value === null ? "null" : typeof value);
const fail = (message) => { throw new Error(`caseflag index: ${message}`); };
const strings = (value) => Array.isArray(value) && value.every((item) => typeof item === "string");

/** The parsed index (from JSON text or an object), or an Error saying what is wrong with it. */
export function validateIndex(json) {
  let index = json;
  if (typeof json === "string") {
    try {
      index = JSON.parse(json);
    } catch (err) {
      fail(`not JSON (truncated or damaged?): ${err.message}`);
    }
  }
  if (kindOf(index) !== "object") fail(`expected a JSON object, got ${kindOf(index)}`);
  if (index.format !== INDEX_FORMAT) fail(`format ${JSON.stringify(index.format)} is not ${INDEX_FORMAT}`);
  for (const [key, kind] of Object.entries(SHAPE)) {
    if (kindOf(index[key]) !== kind) fail(`"${key}" should be ${kind}, is ${kindOf(index[key])}`);
  }
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(index.date)) fail(`"date" ${JSON.stringify(index.date)} is not YYYY-MM-DD`);
  if (kindOf(index.messages.en) !== "object") fail(`"messages.en" is missing`);
  for (const key of ["icann", "private"]) if (!strings(index.public_suffixes[key])) fail(`"public_suffixes.${key}"`);
  if (!index.public_suffixes.icann.length) fail(`"public_suffixes.icann" is empty`);
  if (kindOf(index.special_use.suffixes) !== "object" || !strings(index.special_use.never_resolved)) {
    fail(`"special_use" should name suffixes and never_resolved`);
  }
  for (const level of ["target", "party", "related", "infrastructure", "none"]) {
    if (typeof index.badges[level]?.color !== "string") fail(`"badges.${level}" is missing`);
  }
  index.entities.forEach((entity, at) => {
    for (const key of ["id", "name", "kind", "level"]) if (typeof entity?.[key] !== "string") fail(`entities[${at}].${key}`);
    if (!strings(entity.domains) || !Array.isArray(entity.explanations?.en)) fail(`entities[${at}] is incomplete`);
    for (const key of ["aliases", "cases", "related"]) if (!Array.isArray(entity[key])) fail(`entities[${at}].${key}`);
    for (const [caseId] of entity.cases) if (kindOf(index.cases[caseId]) !== "object") fail(`case ${caseId} is missing`);
  });
  index.providers.forEach((provider, at) => {
    for (const key of ["id", "name", "short_label", "entity_id"]) {
      if (typeof provider?.[key] !== "string") fail(`providers[${at}].${key} is missing`);
    }
    if (!strings(provider.ipv4) || !strings(provider.ipv6) || !Array.isArray(provider.header_patterns)) {
      fail(`providers[${at}] is incomplete`);
    }
    [...provider.ipv4, ...provider.ipv6].forEach(parseCidr);
  });
  [...index.not_global.ipv4, ...index.not_global.ipv6].forEach(parseCidr);
  return index;
}

/** The index validated, with its lookup tables built once; pass it to localCheck. */
export function prepareIndex(json) {
  return json instanceof PreparedIndex ? json : new PreparedIndex(validateIndex(json));
}

class PreparedIndex {
  constructor(index) {
    Object.assign(this, { raw: index, version: index.version, date: index.date, format: index.format });
    this.rules = new HostRules(index);
    this.entities = new Map(index.entities.map((entity) => [entity.id, entity]));
    this.domains = new Map(); // listed domain or alias -> [entity, alias relation or null]
    for (const entity of index.entities) for (const domain of entity.domains) this.domains.set(domain, [entity, null]);
    for (const entity of index.entities) {
      for (const [domain, relation] of entity.aliases) this.domains.set(domain, [entity, relation]);
    }
    this.listed = this.domains.size;
    this.providers = index.providers.map((p) => ({ ...p, networks: [...p.ipv4, ...p.ipv6].map(parseCidr) }));
    this.memo = new Map(); // made once per language: rendered reasons, match entries
    this.answers = new Map(); // language -> (input -> answer), for inputs without connection info
  }

  lookup(lang) {
    const own = this.raw.messages[lang] ?? {};
    const english = this.raw.messages.en;
    return (key) => own[key] ?? english[key];
  }

  once(key, make) {
    let value = this.memo.get(key);
    if (value === undefined) this.memo.set(key, (value = make()));
    return value;
  }

  /** A message for a host: its text around the domain, made once ([before, after]). */
  around(lang, explanation) {
    const text = renderMessage(this.lookup(lang), explanation.code, { ...explanation.params, domain: SENTINEL });
    return text.split(SENTINEL);
  }

  /** The shared part of a match entry, in the API's shape and the language asked for. */
  matchEntry(entity, matchedBy, lang) {
    return this.once(`${lang} match ${matchedBy} ${entity.id}`, () => ({
      entity: { id: entity.id, name: entity.name, kind: entity.kind, status: entity.status ?? null,
                description: entity[lang]?.description ?? entity.description ?? null,
                ...(entity.jurisdiction ? { jurisdiction: entity.jurisdiction } : {}) },
      matched_by: matchedBy,
      role: entity.role ?? null,
      cases: this.cases(entity, lang),
      aliases: entity.aliases.map(([domain, relation]) => ({ domain, relation })),
      related: entity.related.filter(([id]) => this.entities.has(id)).map(([id, relation]) => {
        const other = this.entities.get(id);
        return { id, name: other.name, relation, domains: other.domains, role: other.role ?? null,
                 cases: this.cases(other, lang) };
      }),
    }));
  }

  cases(entity, lang) {
    return this.once(`${lang} cases ${entity.id}`, () => entity.cases.map(([id, role, sourceIds]) => {
      const record = { ...this.raw.cases[id] };
      for (const other of Object.keys(this.raw.messages)) delete record[other]; // its translations
      const sources = sourceIds.filter((s) => this.raw.sources[s]).map((s) => ({ id: s, ...this.raw.sources[s] }));
      // Sources in the answer's language first, as the server orders them.
      sources.sort((a, b) => (a.language.split("-")[0] !== lang) - (b.language.split("-")[0] !== lang));
      const title = this.raw.cases[id][lang]?.title ?? record.title;
      return { id, ...record, title, date: record.date ?? null, role, jurisdiction: record.jurisdiction ?? null,
               sources };
    }));
  }
}

// --- the check ------------------------------------------------------------------------------------------

/**
 * The answer for one host name (as the browser hands it over) or URL, from the index alone, in the
 * server's shape plus `source: "builtin"`; a refused input gives { query, error, status }.
 * options.connection = { ip, headers } the browser saw; options.lang "en" (default) or "de".
 * Answers for the same input share their parts: treat them as read-only.
 */
export function localCheck(text, index, options) {
  const prepared = prepareIndex(index);
  const connection = options?.connection;
  const lang = prepared.raw.messages[options?.lang] ? options.lang : "en";
  if (connection || typeof text !== "string" || text.length > 255) return answerFor(text, prepared, connection, lang);
  let kept = prepared.answers.get(lang);
  if (kept === undefined) prepared.answers.set(lang, (kept = new Map()));
  const known = kept.get(text);
  if (known !== undefined) return known.error ? { ...known } : { ...known, checked_at: nowIso() };
  if (kept.size >= ANSWER_CACHE_SIZE) kept.clear();
  const answer = answerFor(text, prepared, connection, lang);
  kept.set(text, answer);
  return answer;
}

function refusal(index, text, err, lang) {
  const message = renderMessage(index.lookup(lang), err.key, err.params);
  return { query: text, error: { code: err.code, message, explanation: { code: err.key, params: err.params } },
           status: err.status };
}

function answerFor(text, index, connection, lang) {
  let host;
  try {
    host = index.rules.parse(text);
  } catch (err) {
    if (err instanceof Refused) return refusal(index, text, err, lang);
    throw err;
  }
  const match = findListed(host, index);
  if (host.neverResolved && match === null) {
    return refusal(index, text, new Refused("not_public", 422, "error.onion_unlisted", { name: host.name }), lang);
  }
  const said = [];
  const reasons = [];
  let level = "none";
  const matches = [];
  if (match !== null) {
    const [entity, relation] = match.listing;
    matches.push({ ...index.matchEntry(entity, match.matchedBy, lang), matched_domain: match.domain,
                   ...(relation ? { relation } : {}) });
    level = entity.level;
    const [first, ...rest] = entity.explanations[lang] ?? entity.explanations.en;
    said.push({ code: first.code, params: { ...first.params, domain: match.domain, relation } }, ...rest);
    const [before, after] = index.once(`${lang} first ${relation} ${entity.id}`, () => index.around(lang, said[0]));
    reasons.push(before + match.domain + after,
      ...index.once(`${lang} rest ${entity.id}`, () => rest.map((e) => renderMessage(index.lookup(lang), e.code, e.params))));
  }
  const badge = { ...index.raw.badges[level] };
  const infrastructure = connectionEvidence(index, host, connection, lang);
  for (const provider of infrastructure.serving) { // the browser saw the site's own traffic: it serves it
    said.push(provider.said);
    reasons.push(provider.summary);
    if (provider.explanations === null) continue;
    if (level === "none") [level, badge.text, badge.color] = ["infrastructure", provider.short_label, index.raw.badges.infrastructure.color];
    if (!matches.some((m) => m.entity.id === provider.entity_id) && index.entities.has(provider.entity_id)) {
      matches.push(index.matchEntry(index.entities.get(provider.entity_id), "provider", lang));
      const [extra] = provider.explanations[lang] ?? provider.explanations.en;
      said.push(extra);
      reasons.push(renderMessage(index.lookup(lang), extra.code, extra.params));
    }
  }
  if (infrastructure.status !== "resolved") {
    said.push({ code: `infrastructure_${infrastructure.reason_code}`, params: {} });
    reasons.push(renderMessage(index.lookup(lang), said[said.length - 1].code, {}));
  }
  if (level === "none" && match === null) {
    said.unshift({ code: "not_listed", params: { domain: host.registrable || host.name } });
    const [before, after] = index.once(`${lang} not_listed`, () => index.around(lang, said[0]));
    reasons.unshift(before + (host.registrable || host.name) + after);
  }
  return {
    query: text, hostname: host.name, hostname_unicode: host.isIp ? host.name : toUnicode(host.name),
    registrable_domain: host.registrable, is_ip: host.isIp,
    verdict: { level, badge, reasons, explanations: said }, matches,
    infrastructure: { status: infrastructure.status, reason: infrastructure.reason, reason_code: infrastructure.reason_code,
                      addresses: infrastructure.addresses, nameservers: [], cnames: [], providers: infrastructure.entries,
                      asns: [], elapsed_ms: null },
    language: lang, dataset_version: index.version, checked_at: nowIso(), cached: false, source: "builtin",
  };
}

/** The listed entity of a host: the name, or a parent down to its registrable domain (the server's walk). */
function findListed(host, index) {
  if (host.isIp || !host.registrable) return null;
  let candidate = host.name;
  for (let parents = host.parents; ; parents -= 1) {
    const listing = index.domains.get(candidate);
    if (listing !== undefined) {
      const matchedBy = listing[1] !== null ? "alias" : parents === 0 ? "registrable_domain" : "hostname";
      return { listing, matchedBy, domain: candidate };
    }
    if (parents === 0) return null;
    candidate = candidate.slice(candidate.indexOf(".") + 1);
  }
}

/** What the browser's own connection shows: a provider's range or headers, each `serves: true` evidence. */
function connectionEvidence(index, host, connection, lang) {
  const skipped = (code) => ({ status: "skipped", reason_code: code, addresses: [], entries: [], serving: [],
                               reason: renderMessage(index.lookup(lang), `reason.${code}`, {}) });
  if (host.neverResolved) return skipped("never_resolved");
  if (!connection || (connection.ip == null && connection.headers == null)) return skipped("no_permission");
  const ip = typeof connection.ip === "string" ? connection.ip.replace(/^\[|\]$/g, "") : null;
  const address = ip !== null && parseIp(ip) !== null ? ip : null;
  const headers = Object.entries(Array.isArray(connection.headers)
    ? Object.fromEntries(connection.headers.map((h) => [h?.name, h?.value])) : connection.headers ?? {})
    .filter(([name, value]) => typeof name === "string" && typeof value === "string")
    .map(([name, value]) => [name.trim().toLowerCase(), value.trim()]);
  const serving = [];
  for (const provider of index.providers) {
    const evidence = [];
    const parsed = address === null ? null : parseIp(address);
    const net = parsed && provider.networks.find((n) => n.version === parsed.version && parsed.value >= n.start && parsed.value < n.end);
    if (net) evidence.push({ kind: "ip_range", value: address, detail: net.cidr });
    for (const pattern of provider.header_patterns) {
      const wanted = pattern.value?.toLowerCase();
      const seen = headers.find(([name, value]) => name === pattern.name && (wanted === undefined || value.toLowerCase() === wanted));
      if (seen) evidence.push({ kind: "header", value: `${seen[0]}: ${seen[1]}`, detail: wanted === undefined ? pattern.name : `${pattern.name}: ${pattern.value}` });
    }
    if (!evidence.length) continue;
    const said = { code: "served_by", params: { provider: provider.name, evidence } };
    serving.push({ ...provider, said, summary: renderMessage(index.lookup(lang), said.code, said.params) });
  }
  const entries = serving.map((p) => ({ id: p.id, name: p.name, short_label: p.short_label, entity_id: p.entity_id,
                                        evidence: p.said.params.evidence, serves: true, summary: p.summary }));
  return { status: "resolved", reason: "", reason_code: "", addresses: address ? [address] : [], entries, serving };
}

let clock = [null, ""];

/** The current UTC time to the second, as the server writes it (made once per second). */
function nowIso() {
  const second = Math.floor(Date.now() / 1000);
  if (clock[0] !== second) clock = [second, new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00")];
  return clock[1];
}
