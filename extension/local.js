/**
 * The built-in list: the server's answer for a site from the index the extension ships (data/index.json),
 * with no server. The server wrote each entity's verdict into the index (level, explanations, the catalogue
 * that words them); this finds the registrable domain of the browser's host name, looks it up, and adds the
 * one thing only the browser knows: the provider seen on its own connection. prepareIndex(json) once, then
 * localCheck(host, index, { connection: { ip, headers }, lang: "de" }) per navigation.
 */
import { HostRules, Refused, ipValue, parseCidr, toUnicode } from "./hostname.js";
import { renderMessage } from "./messages.js";

export const INDEX_FORMAT = 2;
const ANSWER_CACHE_SIZE = 4096;
const SEEN = {};
const LEVELS = ["target", "party", "related", "infrastructure", "none"];
const SHAPE = { format: "number", version: "string", date: "string", messages: "object", badges: "object", entities: "array",
  cases: "object", sources: "object", providers: "array", skipped: "object", public_suffixes: "object", special_use: "object",
  not_global: "object" };
const kindOf = (value) => (Array.isArray(value) ? "array" : value === null ? "null" : typeof value);
const strings = (value) => Array.isArray(value) && value.every((item) => typeof item === "string");
const fail = (message) => { throw new Error(`caseflag index: ${message}`); };

/** The parsed index (from JSON text or an object); throws an Error saying what is wrong with it. */
export function validateIndex(json) {
  let index = json;
  try {
    if (typeof json === "string") index = JSON.parse(json);
  } catch (err) {
    fail(`not JSON (truncated or damaged?): ${err.message}`);
  }
  if (kindOf(index) !== "object") fail(`expected a JSON object, got ${kindOf(index)}`);
  if (index.format !== INDEX_FORMAT) fail(`format ${JSON.stringify(index.format)} is not ${INDEX_FORMAT}`);
  for (const [key, kind] of Object.entries(SHAPE)) {
    if (kindOf(index[key]) !== kind) fail(`"${key}" should be ${kind}, is ${kindOf(index[key])}`);
  }
  const checks = [
    [/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(index.date), `"date" ${JSON.stringify(index.date)} is not YYYY-MM-DD`],
    [kindOf(index.messages.en) === "object", `"messages.en" is missing`],
    [strings(index.public_suffixes.icann) && index.public_suffixes.icann.length > 0 &&
     strings(index.public_suffixes.private), `"public_suffixes" should be lists of rules`],
    [kindOf(index.special_use.suffixes) === "object" && strings(index.special_use.never_resolved), `"special_use"`],
    [LEVELS.every((level) => typeof index.badges[level]?.color === "string"), `"badges" is incomplete`],
  ];
  index.entities.forEach((entity, at) => {
    const entry = entity?.entry;
    checks.push([typeof entity?.id === "string" && typeof entity.level === "string" && strings(entity.domains) &&
                 Array.isArray(entity.explanations?.en) && kindOf(entry?.entity?.en) === "object" &&
                 ["aliases", "cases", "related"].every((key) => Array.isArray(entry[key])), `entities[${at}]`]);
    const refs = (entry?.cases ?? []).concat(...(entry?.related ?? []).map((rel) => rel?.cases ?? []));
    refs.forEach((ref) => checks.push([kindOf(index.cases[ref?.[0]]?.en) === "object", `case ${ref?.[0]} is missing`]));
  });
  index.providers.forEach((provider, at) => checks.push([
    ["id", "name", "short_label", "entity_id"].every((key) => typeof provider?.[key] === "string") &&
    strings(provider.ipv4) && strings(provider.ipv6) && Array.isArray(provider.header_patterns), `providers[${at}]`]));
  for (const [ok, what] of checks) if (!ok) fail(what);
  try {
    [...index.providers.flatMap((p) => [...p.ipv4, ...p.ipv6]), ...index.not_global.ipv4, ...index.not_global.ipv6]
      .forEach(parseCidr);
  } catch (err) {
    fail(err.message);
  }
  return index;
}

/** The index validated, its tables built once: pass it to localCheck. */
export const prepareIndex = (json) => (json instanceof PreparedIndex ? json : new PreparedIndex(validateIndex(json)));

class PreparedIndex {
  constructor(index) {
    Object.assign(this, { raw: index, version: index.version, date: index.date, format: index.format });
    this.rules = new HostRules(index);
    this.entities = new Map(index.entities.map((entity) => [entity.id, entity]));
    this.domains = new Map(); // listed domain or alias -> { entity, relation (an alias's), said: its words by language }
    for (const entity of index.entities) {
      const listing = { entity, relation: null, said: {} }; // one for all its domains: fewer objects, fewer cache misses
      for (const domain of entity.domains) this.domains.set(domain, listing);
      for (const { domain, relation } of entity.entry.aliases) this.domains.set(domain, { entity, relation, said: {} });
    }
    this.listed = this.domains.size;
    this.providers = index.providers.map((p) => ({ ...p, networks: [...p.ipv4, ...p.ipv6].map(parseCidr) }));
    this.skipped = Object.fromEntries(Object.entries(index.skipped).map(([why, byLang]) => [why, Object.fromEntries(
      Object.entries(byLang).map(([lang, it]) => [lang, { ...it, explained: [[it.explanation], [it.reason]] }]))]));
    this.unlisted = {}; // per language: the words around the domain of a site not in the list
    this.answers = new Map(); // per language: input -> answer, for checks without connection info
  }

  say(lang, { code, params }) {
    return renderMessage((key) => this.raw.messages[lang]?.[key] ?? this.raw.messages.en[key], code, params);
  }

  /** A message about a host, worded once: [its text before the domain, after it]. */
  around(lang, code, params) {
    return this.say(lang, { code, params: { ...params, domain: "\0" } }).split("\0");
  }

  /** A listed name's words in a language, made on its first match: its first explanation's code and params with
   * the text around the host's domain, the rest worded, its match entries by matched_by. */
  words({ entity, relation }, lang) {
    const [first, ...rest] = entity.explanations[lang] ?? entity.explanations.en;
    const params = { ...first.params, relation };
    return { code: first.code, params, around: this.around(lang, first.code, params), rest,
             reasons: rest.map((item) => this.say(lang, item)), entries: {} };
  }

  /** The shared part of a match entry, in the API's shape, in the language asked for. */
  entry(entity, matchedBy, lang) {
    const { entity: summary, role, aliases, cases, related } = entity.entry;
    return { entity: summary[lang] ?? summary.en, matched_by: matchedBy, role, cases: this.cases(cases, lang), aliases,
             related: related.map((rel) => ({ ...rel, cases: this.cases(rel.cases, lang) })) };
  }

  /** Cases from their references, their sources in the answer's language first, as the server orders them. */
  cases(refs, lang) {
    const first = (source) => (source.language.split("-")[0] === lang ? 0 : 1);
    return refs.map(([id, role, sourceIds]) => ({ ...(this.raw.cases[id][lang] ?? this.raw.cases[id].en), role,
      sources: sourceIds.filter((s) => this.raw.sources[s]).map((s) => ({ id: s, ...this.raw.sources[s] }))
        .sort((a, b) => first(a) - first(b)) }));
  }
}

/**
 * The answer for a host name (as the browser hands it over) or URL, in the server's shape plus `source:
 * "builtin"`, or { query, error: { code, message, explanation }, status }. options.connection: { ip, headers }
 * the browser saw on its own connection; options.lang: "en" or "de". Answers share parts: read-only.
 */
export function localCheck(text, index, options) {
  const prepared = prepareIndex(index);
  const lang = options?.lang !== undefined && prepared.raw.messages[options.lang] ? options.lang : "en"; // no key undefined
  const connection = options?.connection;
  if (connection || typeof text !== "string" || text.length > 255) return answerFor(text, prepared, connection, lang);
  const kept = prepared.answers.get(lang) ?? prepared.answers.set(lang, new Map()).get(lang);
  const known = kept.get(text); // an answer is kept from a host's second visit on: most are visited once
  if (known !== undefined && known !== SEEN) return known.error ? { ...known } : { ...known, checked_at: nowIso() };
  if (kept.size >= ANSWER_CACHE_SIZE) kept.clear();
  const answer = answerFor(text, prepared, null, lang);
  kept.set(text, known === SEEN ? answer : SEEN);
  return answer;
}

const refusal = (index, text, err, lang, explanation = { code: err.key, params: err.params }) =>
  ({ query: text, error: { code: err.code, message: index.say(lang, explanation), explanation }, status: err.status });

function answerFor(text, index, connection, lang) {
  let host;
  try {
    host = index.rules.parse(text);
  } catch (err) {
    if (err instanceof Refused) return refusal(index, text, err, lang);
    throw err;
  }
  const domain = listedName(host, index);
  const match = domain === null ? null : index.domains.get(domain); // again: its hash is made, its lines are cached
  if (host.neverResolved && match === null) {
    return refusal(index, text, new Refused("not_public", 422, "error.onion_unlisted", { name: host.name }), lang);
  }
  const { infrastructure, explained = [[], []] } = seen(index, host, connection, lang); // [explanations, reasons] last
  let level = "none", said, reasons, matches = [];
  if (match !== null) { // the parts made once per listed name and language, shared: only the host's domain is new
    const { entity, relation } = match;
    const matchedBy = relation !== null ? "alias" : domain === host.registrable ? "registrable_domain" : "hostname";
    const words = match.said[lang] ?? (match.said[lang] = index.words(match, lang));
    const entry = words.entries[matchedBy] ?? (words.entries[matchedBy] = index.entry(entity, matchedBy, lang));
    matches = [{ entity: entry.entity, matched_by: matchedBy, role: entry.role, cases: entry.cases,
                 aliases: entry.aliases, related: entry.related, matched_domain: domain }];
    if (relation) matches[0].relation = relation;
    level = entity.level;
    said = [{ code: words.code, params: { ...words.params, domain } }, ...words.rest, ...explained[0]]; // one size, no growth
    reasons = [words.around[0] + domain + words.around[1], ...words.reasons, ...explained[1]];
  } else { // unlisted: says so first, unless a provider seen on the connection makes it `infrastructure` (below)
    const unlisted = host.registrable || host.name;
    const around = index.unlisted[lang] ?? (index.unlisted[lang] = index.around(lang, "not_listed", {}));
    said = [{ code: "not_listed", params: { domain: unlisted } }, ...explained[0]];
    reasons = [around[0] + unlisted + around[1], ...explained[1]];
  }
  let badge = index.raw.badges[level];
  for (const { id, name, evidence, summary } of infrastructure.providers) { // seen in the site's own traffic: it serves it
    said.push({ code: "served_by", params: { provider: name, evidence } });
    reasons.push(summary);
    const provider = index.providers.find((p) => p.id === id);
    const entity = index.entities.get(provider.entity_id);
    if (provider.explanations == null || entity === undefined) continue; // its entity in no case: nothing more
    if (level === "none") [level, badge] = ["infrastructure", { ...index.raw.badges.infrastructure, text: provider.short_label }];
    if (said[0].code === "not_listed") said.shift() && reasons.shift();
    if (matches.some((m) => m.entity.id === entity.id)) continue;
    matches.push(index.entry(entity, "provider", lang)); // rare: only with the connection read
    said.push((provider.explanations[lang] ?? provider.explanations.en)[0]);
    reasons.push(index.say(lang, said.at(-1)));
  }
  return {
    query: text, hostname: host.name, hostname_unicode: host.isIp ? host.name : toUnicode(host.name),
    registrable_domain: host.registrable, is_ip: host.isIp, verdict: { level, badge, reasons, explanations: said },
    matches, infrastructure, language: lang, dataset_version: index.version, checked_at: nowIso(),
    cached: false, source: "builtin",
  };
}

/** The listed name of a host, or null: the name or a parent down to its registrable domain (the server's walk); only the
 * registrable domain when every listed name is one (the linter's rule), as the server does. */
function listedName(host, index) {
  if (host.isIp || !host.registrable) return null;
  let domain = index.raw.registrable_only ? host.registrable : host.name;
  for (; !index.domains.has(domain); domain = domain.slice(domain.indexOf(".") + 1)) {
    if (domain.length <= host.registrable.length) return null;
  }
  return domain;
}

/** What the browser's own connection shows (`serves: true` evidence: a provider's range or headers). */
function seen(index, host, connection, lang) {
  const skip = host.neverResolved ? "never_resolved" : connection?.ip == null && connection?.headers == null ? "no_permission" : null;
  if (skip !== null) return index.skipped[skip][lang] ?? index.skipped[skip].en; // shared, read-only: most answers
  const infrastructure = { status: "resolved", reason: "", reason_code: "", addresses: [], nameservers: [], cnames: [],
                           providers: [], asns: [], elapsed_ms: null };
  const address = typeof connection.ip === "string" ? connection.ip.replace(/^\[|\]$/g, "") : "";
  const ip = ipValue(address);
  const given = Array.isArray(connection.headers) ? connection.headers.map((h) => [h?.name, h?.value])
    : Object.entries(connection.headers ?? {});
  const headers = given.filter(([name, value]) => typeof name === "string" && typeof value === "string")
    .map(([name, value]) => [name.trim().toLowerCase(), value.trim()]);
  if (ip !== null) infrastructure.addresses.push(address);
  for (const provider of index.providers) {
    const evidence = [];
    const network = ip && provider.networks.find((n) => n.version === ip.version && ip.value >= n.start && ip.value < n.end);
    if (network) evidence.push({ kind: "ip_range", value: address, detail: network.cidr });
    for (const { name, value } of provider.header_patterns) {
      const hit = headers.find(([key, text]) => key === name && (value === undefined || text.toLowerCase() === value.toLowerCase()));
      if (hit) evidence.push({ kind: "header", value: `${hit[0]}: ${hit[1]}`, detail: value === undefined ? name : `${name}: ${value}` });
    }
    const { id, name, short_label, entity_id } = provider;
    const summary = index.say(lang, { code: "served_by", params: { provider: name, evidence } });
    if (evidence.length) infrastructure.providers.push({ id, name, short_label, entity_id, evidence, serves: true, summary });
  }
  return { infrastructure };
}

let clock = [null, ""]; // the current UTC time to the second, as the server writes it, made once per second
function nowIso(second = Math.floor(Date.now() / 1000)) {
  if (clock[0] !== second) clock = [second, new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00")];
  return clock[1];
}
