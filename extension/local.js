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
const LEVELS = ["target", "party", "related", "infrastructure", "none"];
const SHAPE = { format: "number", version: "string", date: "string", messages: "object", badges: "object", entities:
  "array", cases: "object", sources: "object", providers: "array", public_suffixes: "object", special_use: "object",
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
    checks.push([["id", "name", "kind", "level"].every((key) => typeof entity?.[key] === "string") &&
                 strings(entity.domains) && Array.isArray(entity.explanations?.en) &&
                 ["aliases", "cases", "related"].every((key) => Array.isArray(entity[key])), `entities[${at}]`],
                ...(Array.isArray(entity?.cases) ? entity.cases : []).map(([id]) => [kindOf(index.cases[id]) === "object", `case ${id} is missing`]));
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
export function prepareIndex(json) {
  return json instanceof PreparedIndex ? json : new PreparedIndex(validateIndex(json));
}

class PreparedIndex {
  constructor(index) {
    Object.assign(this, { raw: index, version: index.version, date: index.date, format: index.format });
    this.rules = new HostRules(index);
    this.entities = new Map(index.entities.map((entity) => [entity.id, entity]));
    this.domains = new Map(); // listed domain or alias -> [entity, its alias relation or null]
    for (const entity of index.entities) for (const domain of entity.domains) this.domains.set(domain, [entity, null]);
    for (const entity of index.entities) for (const [alias, rel] of entity.aliases) this.domains.set(alias, [entity, rel]);
    this.listed = this.domains.size;
    this.providers = index.providers.map((p) => ({ ...p, networks: [...p.ipv4, ...p.ipv6].map(parseCidr) }));
    this.memo = new Map(); // per language: rendered reasons and match entries, made once
    this.answers = new Map(); // per language: input -> answer, for checks without connection info
  }

  say(lang, item) {
    const [own, english] = [this.raw.messages[lang] ?? {}, this.raw.messages.en];
    return renderMessage((key) => own[key] ?? english[key], item.code, item.params);
  }

  once(key, make) {
    return this.memo.get(key) ?? this.memo.set(key, make()).get(key);
  }

  /** A message about a host, worded once: [its text before the domain, after it]. */
  around(key, lang, { code, params }) {
    return this.once(key, () => this.say(lang, { code, params: { ...params, domain: "\0" } }).split("\0"));
  }

  /** The shared part of a match entry, in the API's shape, in the language asked for. */
  entry(entity, matchedBy, lang) {
    return this.once(`${lang} entry ${matchedBy} ${entity.id}`, () => ({
      entity: { id: entity.id, name: entity.name, kind: entity.kind, status: entity.status ?? null,
                description: entity[lang]?.description ?? entity.description ?? null,
                ...(entity.jurisdiction ? { jurisdiction: entity.jurisdiction } : {}) },
      matched_by: matchedBy, role: entity.role ?? null, cases: this.cases(entity, lang),
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
      const record = { ...this.raw.cases[id], title: this.raw.cases[id][lang]?.title ?? this.raw.cases[id].title };
      for (const other of Object.keys(this.raw.messages)) delete record[other]; // its translations
      const sources = sourceIds.filter((s) => this.raw.sources[s]).map((s) => ({ id: s, ...this.raw.sources[s] }));
      // The answer's language first, as the server orders them (a stable sort keeps the rest newest first).
      sources.sort((a, b) => (a.language.split("-")[0] !== lang) - (b.language.split("-")[0] !== lang));
      return { id, ...record, date: record.date ?? null, role, jurisdiction: record.jurisdiction ?? null, sources };
    }));
  }
}

/**
 * The answer for a host name (as the browser hands it over) or URL, in the server's shape plus `source:
 * "builtin"`, or { query, error: { code, message, explanation }, status }. options.connection: { ip, headers }
 * the browser saw on its own connection; options.lang: "en" or "de". Answers share parts: read-only.
 */
export function localCheck(text, index, options) {
  const prepared = prepareIndex(index);
  const lang = prepared.raw.messages[options?.lang] ? options.lang : "en";
  if (options?.connection || typeof text !== "string" || text.length > 255) {
    return answerFor(text, prepared, options?.connection, lang);
  }
  const kept = prepared.answers.get(lang) ?? prepared.answers.set(lang, new Map()).get(lang);
  let answer = kept.get(text);
  if (answer !== undefined) return answer.error ? { ...answer } : { ...answer, checked_at: nowIso() };
  if (kept.size >= ANSWER_CACHE_SIZE) kept.clear();
  kept.set(text, (answer = answerFor(text, prepared, null, lang)));
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
  const match = findListed(host, index);
  if (host.neverResolved && match === null) {
    return refusal(index, text, new Refused("not_public", 422, "error.onion_unlisted", { name: host.name }), lang);
  }
  const [said, reasons, matches] = [[], [], []];
  let level = "none";
  if (match !== null) {
    const { entity, relation, domain } = match;
    matches.push({ ...index.entry(entity, match.matchedBy, lang), matched_domain: domain, ...(relation ? { relation } : {}) });
    level = entity.level;
    const [first, ...rest] = entity.explanations[lang] ?? entity.explanations.en;
    said.push({ code: first.code, params: { ...first.params, domain, relation } }, ...rest);
    const [before, after] = index.around(`${lang} first ${relation} ${entity.id}`, lang, said[0]);
    reasons.push(before + domain + after, ...index.once(`${lang} rest ${entity.id}`, () => rest.map((e) => index.say(lang, e))));
  }
  const badge = { ...index.raw.badges[level] };
  const infrastructure = seen(index, host, connection, lang);
  for (const { id, name, evidence, summary } of infrastructure.providers) { // seen in the site's own traffic: it serves it
    said.push({ code: "served_by", params: { provider: name, evidence } });
    reasons.push(summary);
    const provider = index.providers.find((p) => p.id === id);
    const entity = index.entities.get(provider.entity_id);
    if (provider.explanations === null || entity === undefined) continue;
    if (level === "none") [level, badge.text, badge.color] = ["infrastructure", provider.short_label, index.raw.badges.infrastructure.color];
    if (matches.some((m) => m.entity.id === entity.id)) continue;
    matches.push(index.entry(entity, "provider", lang));
    said.push((provider.explanations[lang] ?? provider.explanations.en)[0]);
    reasons.push(index.say(lang, said.at(-1)));
  }
  if (infrastructure.status !== "resolved") said.push({ code: `infrastructure_${infrastructure.reason_code}`, params: {} });
  if (infrastructure.status !== "resolved") reasons.push(index.say(lang, said.at(-1)));
  if (level === "none" && match === null) {
    const domain = host.registrable || host.name;
    said.unshift({ code: "not_listed", params: { domain } });
    const [before, after] = index.around(`${lang} not_listed`, lang, said[0]);
    reasons.unshift(before + domain + after);
  }
  return {
    query: text, hostname: host.name, hostname_unicode: host.isIp ? host.name : toUnicode(host.name),
    registrable_domain: host.registrable, is_ip: host.isIp, verdict: { level, badge, reasons, explanations: said },
    matches, infrastructure, language: lang, dataset_version: index.version, checked_at: nowIso(),
    cached: false, source: "builtin",
  };
}

/** The listed entity of a host: the name, or a parent down to its registrable domain (the server's walk). */
function findListed(host, index) {
  let domain = host.isIp || !host.registrable ? null : host.name;
  for (let parents = host.parents; domain !== null; parents -= 1) {
    const [entity, relation] = index.domains.get(domain) ?? [];
    if (entity) return { entity, relation, domain, matchedBy: relation !== null ? "alias" : parents ? "hostname" : "registrable_domain" };
    domain = parents === 0 ? null : domain.slice(domain.indexOf(".") + 1);
  }
  return null;
}

/** What the browser's own connection shows (`serves: true` evidence: a provider's range or headers). */
function seen(index, host, connection, lang) {
  const infrastructure = { status: "resolved", reason: "", reason_code: "", addresses: [], nameservers: [], cnames: [],
                           providers: [], asns: [], elapsed_ms: null };
  const skip = host.neverResolved ? "never_resolved" : connection?.ip == null && connection?.headers == null ? "no_permission" : null;
  if (skip !== null) {
    return { ...infrastructure, status: "skipped", reason_code: skip, reason: index.say(lang, { code: `reason.${skip}` }) };
  }
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
  return infrastructure;
}

let clock = [null, ""]; // the current UTC time to the second, as the server writes it, made once per second
function nowIso() {
  const second = Math.floor(Date.now() / 1000);
  if (clock[0] !== second) clock = [second, new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00")];
  return clock[1];
}
