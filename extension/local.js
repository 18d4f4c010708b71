/**
 * The built-in matcher: answers "what is known about this site?" from the index the extension ships
 * (data/index.json, written by `caseflag data export --format extension`), with no server, so no
 * hostname leaves the browser. The answer has the server's shape and, for every input, the server's
 * verdict level, matched entities, registrable domain and error code (its `check --offline`).
 *
 * No browser API is touched: the module runs as it is in the service worker, a page and node.
 *
 *   const index = prepareIndex(json);          // once per index: validates, builds Maps and the suffix trie
 *   localCheck("www.thepiratebay.org", index)  // per navigation
 *   localCheck(host, index, { connection: { ip, headers } })  // with what the browser saw on its own connection
 */

import { HostnameRules, Refused, formatIp, parseCidr, parseIp, pyRepr } from "./hostname.js";

export const INDEX_FORMAT = 1;

const BADGES = Object.freeze({
  target: { text: "!", color: "#c62828" },
  party: { text: "i", color: "#1565c0" },
  related: { text: "~", color: "#78909c" },
  infrastructure: { text: "", color: "#f9a825" },
  none: { text: "", color: "#757575" },
});
const TARGET_ROLES = new Set(["defendant", "subject"]);
const ROLE_WORDS = Object.freeze({
  defendant: "the defendant",
  subject: "the subject",
  plaintiff: "a plaintiff",
  intermediary: "an intermediary",
  rights_holder: "a rights holder",
  named: "named",
});
// What this entity is to a related one, from what the related one is to it (the index stores the latter),
// in the order the server sorts a match's `related` by (verdict.RELATION_PHRASES, RELATION_ORDER).
const RELATION_PHRASES = Object.freeze({
  predecessor: "the successor of",
  successor: "the predecessor of",
  original: "a mirror of",
  mirror: "the original of",
  operator: "operated by",
  operates: "the operator of",
});
const RELATION_ORDER = Object.keys(RELATION_PHRASES);

/** Python's `<` on str: by code point, where JS compares UTF-16 units (they differ above U+FFFF). */
function compareCodePoints(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** verdict._related's order: entities in cases (targets first) before the rest, then by relation, then name. */
function compareRelated(a, b) {
  const key = (rel) => [rel.cases.length === 0 ? 1 : 0, TARGET_ROLES.has(rel.role) ? 0 : 1,
                        RELATION_ORDER.indexOf(rel.relation)];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
  return compareCodePoints(a.name.toLowerCase(), b.name.toLowerCase());
}

/** verdict._chain: 'the successor of Megaupload, the defendant in "United States v. Dotcom" and 1 more case'. */
function chain(rel) {
  const first = rel.cases[0];
  const more = rel.cases.length - 1;
  const tail = more ? ` and ${caseCount(more)} more` : "";
  return `${RELATION_PHRASES[rel.relation]} ${rel.name}, ${ROLE_WORDS[first.role]} in "${first.title}"${tail}`;
}

/** verdict._relation_sentence: 'MEGA has a predecessor: Megaupload.', or 'Mediaservices operates AllofMP3.' */
function relationSentence(name, rel) {
  if (rel.relation === "operates") return `${name} operates ${rel.name}.`;
  const article = "aeiou".includes(rel.relation[0]) ? "an" : "a";
  return `${name} has ${article} ${rel.relation}: ${rel.name}.`;
}

export const NO_CONNECTION_REASON =
  "The browser's own connection to the site is not read unless you allow it in the settings.";
export const ONION_REASON = "Onion names are never resolved: they are reached through Tor, not DNS.";

// Answers kept per prepared index for inputs without connection info: a browser visits the same few
// hosts again and again (the server keeps parsed names the same way).
const ANSWER_CACHE_SIZE = 4096;
// What the cache holds for an input checked once: its answer is kept from its second check on, so the
// many hosts visited once leave no answer behind to be kept alive (and garbage-collected) for nothing.
const SEEN_ONCE = Object.freeze({ seenOnce: true });

/** At most size inputs; when full it is emptied and fills again with the hosts still visited. One
 * lookup per check, nothing scanned to evict. */
class AnswerCache {
  constructor(size) {
    this.size = size;
    this.answers = new Map();
  }

  get(key) {
    return this.answers.get(key);
  }

  set(key, value) {
    if (this.answers.size >= this.size) this.answers.clear();
    this.answers.set(key, value);
  }
}

// --- the index -------------------------------------------------------------------------------------

const REQUIRED = Object.freeze({
  format: "number",
  version: "string",
  date: "string",
  entities: "array",
  cases: "object",
  sources: "object",
  providers: "array",
  public_suffixes: "object",
  special_use: "object",
  idna: "object",
  not_global: "object",
});

function kindOf(value) {
  if (Array.isArray(value)) return "array";
  return value === null ? "null" : typeof value;
}

function fail(message) {
  throw new Error(`caseflag index: ${message}`);
}

/**
 * Checks that json (the parsed index, or its text) is an index this module can use; throws an Error
 * saying what is wrong otherwise. Returns the parsed index. Meant for an index fetched from a server
 * before it replaces the built-in one.
 */
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
  if (index.format !== INDEX_FORMAT) {
    fail(`format ${JSON.stringify(index.format)} is not the format this extension reads (${INDEX_FORMAT})`);
  }
  for (const [key, kind] of Object.entries(REQUIRED)) {
    if (kindOf(index[key]) !== kind) fail(`"${key}" should be ${kind}, is ${kindOf(index[key])}`);
  }
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(index.date)) fail(`"date" ${JSON.stringify(index.date)} is not YYYY-MM-DD`);
  for (const key of ["icann", "private"]) {
    if (!isStrings(index.public_suffixes[key])) fail(`"public_suffixes.${key}" should be a list of rules`);
  }
  if (index.public_suffixes.icann.length === 0) fail(`"public_suffixes.icann" is empty`);
  for (const key of ["suffixes", "never_resolved"]) {
    if (!isStrings(index.special_use[key])) fail(`"special_use.${key}" should be a list of names`);
  }
  if (index.special_use.suffixes.some((suffix) => suffix.split(".").length > 2)) {
    fail(`"special_use.suffixes" may hold top-level names and second-level names only`);
  }
  if (kindOf(index.idna.bidi) !== "object") fail(`"idna.bidi" should be an object`);
  for (const key of ["pvalid", "contextj", "contexto"]) {
    const ranges = index.idna[key];
    if (!Array.isArray(ranges) || ranges.length % 2 || !ranges.every(Number.isInteger)) {
      fail(`"idna.${key}" should be a flat list of [start, end] code points`);
    }
  }
  for (const key of ["ipv4", "ipv6"]) {
    if (!isStrings(index.not_global[key])) fail(`"not_global.${key}" should be a list of networks`);
  }
  index.entities.forEach((entity, position) => {
    const where = `entities[${position}]`;
    if (kindOf(entity) !== "object") fail(`${where} is not an object`);
    for (const key of ["id", "name", "kind"]) {
      if (typeof entity[key] !== "string") fail(`${where}.${key} is missing`);
    }
    if (!isStrings(entity.domains)) fail(`${where}.domains should be a list of domains`);
    for (const key of ["aliases", "cases", "related"]) {
      if (!Array.isArray(entity[key]) || !entity[key].every(Array.isArray)) {
        fail(`${where}.${key} should be a list of lists`);
      }
    }
    for (const [caseId, , sourceIds] of entity.cases) {
      if (kindOf(index.cases[caseId]) !== "object") {
        fail(`${where} refers to case ${JSON.stringify(caseId)}, which is not in "cases"`);
      }
      if (!isStrings(sourceIds)) fail(`${where}: the sources of case ${caseId} should be a list of ids`);
    }
  });
  index.providers.forEach((provider, position) => {
    const where = `providers[${position}]`;
    for (const key of ["id", "name", "short_label", "entity_id"]) {
      if (typeof provider?.[key] !== "string") fail(`${where}.${key} is missing`);
    }
    for (const key of ["ipv4", "ipv6", "nameserver_patterns", "cname_patterns"]) {
      if (!isStrings(provider[key])) fail(`${where}.${key} should be a list of strings`);
    }
    if (!Array.isArray(provider.header_patterns)) fail(`${where}.header_patterns should be a list`);
    [...provider.ipv4, ...provider.ipv6].forEach(parseCidr); // throws on a network it cannot read
  });
  [...index.not_global.ipv4, ...index.not_global.ipv6].forEach(parseCidr);
  return index;
}

function isStrings(value) {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/**
 * Validates the index and builds what every check needs (domain Map, suffix trie, ranges) once.
 * Pass the result to localCheck. A prepared index passed again is returned as it is.
 */
export function prepareIndex(json) {
  if (json instanceof PreparedIndex) return json;
  return new PreparedIndex(validateIndex(json));
}

class PreparedIndex {
  constructor(index) {
    this.version = index.version;
    this.date = index.date;
    this.format = index.format;
    this.raw = index;
    this.entities = new Map();
    // One table for a check's first lookup: every listed domain and alias -> its Listing, and every name some
    // listed name is under ("co.uk" and "example.co.uk" for "www.example.co.uk") -> a Listing of no entity,
    // marked `above`. A registrable domain not in it has nothing listed at or under it; one in it not
    // marked above is the one name to look up of the host and its parents. Built as a Map, kept as a
    // NameTable (looked up by the end of a name, with no string cut out or hashed by V8).
    const domains = new Map();
    const parts = new Map();
    for (const entity of index.entities) {
      this.entities.set(entity.id, entity);
      parts.set(entity, new AnswerParts());
      const own = new Listing(entity, null, parts.get(entity));
      for (const domain of entity.domains) domains.set(domain, own);
    }
    for (const entity of index.entities) {
      for (const [domain, relation] of entity.aliases) {
        domains.set(domain, new Listing(entity, relation, parts.get(entity)));
      }
    }
    this.listed = domains.size; // listed domains and aliases
    for (const domain of [...domains.keys()]) {
      for (let dot = domain.indexOf("."); dot !== -1; dot = domain.indexOf(".", dot + 1)) {
        const parent = domain.slice(dot + 1);
        const known = domains.get(parent);
        if (known !== undefined && known.above) break; // and so are its own parents
        domains.set(parent, known === undefined ? ABOVE_ONLY : known.markedAbove());
      }
    }
    this.names = new NameTable(domains);
    this.rules = new HostnameRules(index);
    this.providers = index.providers.map((provider) => ({
      ...provider,
      networks: [...provider.ipv4, ...provider.ipv6].map((cidr) => ({ cidr, ...parseCidr(cidr) })),
    }));
    this._matches = new Map(); // entity -> { matched_by: the shared part of a match entry }
    this._cases = new Map(); // entity id -> its cases in the API's shape
    this._sayings = new Map(); // entity -> { level, tail, lines }: its part of the verdict when matched
    this.answers = new AnswerCache(ANSWER_CACHE_SIZE); // input text -> answer (without connection info)
  }

  entity(id) {
    return this.entities.get(id);
  }

  casesOf(entity) {
    let cases = this._cases.get(entity.id);
    if (cases === undefined) {
      cases = entity.cases.map(([caseId, role, sourceIds]) => caseEntry(this.raw, caseId, role, sourceIds));
      this._cases.set(entity.id, cases);
    }
    return cases;
  }

  /** The part of a match entry that is the same for every host matching the entity. */
  matchEntry(entity, matchedBy) {
    let byKind = this._matches.get(entity);
    if (byKind === undefined) this._matches.set(entity, (byKind = {}));
    let entry = byKind[matchedBy];
    if (entry === undefined) {
      entry = byKind[matchedBy] = {
        entity: entitySummary(entity),
        matched_by: matchedBy,
        role: entity.role ?? null,
        cases: this.casesOf(entity),
        aliases: entity.aliases.map(([domain, relation]) => ({ domain, relation })),
        related: entity.related
          .filter(([id]) => this.entities.has(id))
          .map(([id, relation]) => {
            const other = this.entities.get(id);
            return { id, name: other.name, relation, domains: other.domains, role: other.role ?? null,
                     cases: this.casesOf(other) };
          })
          .sort(compareRelated),
      };
    }
    return entry;
  }

  /**
   * What build says of a matched entity when no provider is in play, made once: the level, the end of
   * the first reason (after the domain and its alias relation) and the reasons about its relations.
   */
  sayings(entity, shared) {
    let said = this._sayings.get(entity);
    if (said === undefined) {
      const name = entity.name;
      const count = shared.cases.length;
      let level = "none";
      let tail;
      const also = []; // for the level related: the entities tied to cases after the first
      if (count) {
        const first = shared.cases[0];
        const more = count > 1 ? ` and appears in ${count - 1} more case${count > 2 ? "s" : ""}` : "";
        level = shared.cases.some((c) => TARGET_ROLES.has(c.role)) ? "target" : "party";
        tail = ` belongs to ${name}, ${ROLE_WORDS[first.role]} in "${first.title}"${more}.`;
      } else {
        const tied = shared.related.filter((rel) => rel.cases.length > 0);
        if (tied.length) {
          level = "related";
          tail = ` belongs to ${name}, ${chain(tied[0])}.`;
          for (const rel of tied.slice(1)) also.push(`${name} is also ${chain(rel)}.`);
        } else {
          tail = ` belongs to ${name}, which is listed but named in no case.`;
        }
      }
      const lines = [...also];
      for (const rel of shared.related) {
        if (level !== "related" || rel.cases.length === 0) lines.push(relationSentence(name, rel));
      }
      said = { level, tail, lines };
      this._sayings.set(entity, said);
    }
    return said;
  }
}

/** An entity's parts of an answer without evidence, made on its first match: the shared part of its
 * match entry by how it matched, and its sayings. Fixed fields, so reading them is one load. */
class AnswerParts {
  constructor() {
    this.hostname = null;
    this.registrable_domain = null;
    this.alias = null;
    this.said = null;
  }
}

function entitySummary(entity) {
  const summary = { id: entity.id, name: entity.name, kind: entity.kind, status: entity.status ?? null,
                    description: entity.description ?? null };
  if (entity.jurisdiction) summary.jurisdiction = entity.jurisdiction;
  return summary;
}

function caseEntry(index, caseId, role, sourceIds) {
  const record = index.cases[caseId];
  const entry = { id: caseId, title: record.title, type: record.type, date: record.date ?? null,
                  status: record.status, role, jurisdiction: record.jurisdiction ?? null };
  if (record.court) entry.court = record.court;
  if (record.docket) entry.docket = record.docket;
  entry.sources = sourceIds
    .filter((id) => index.sources[id])
    .map((id) => {
      const source = index.sources[id];
      const item = { id, publisher: source.publisher, title: source.title, date: source.date ?? null,
                     language: source.language, kind: source.kind };
      if (source.url) item.url = source.url;
      return item;
    });
  return entry;
}

// --- the check ------------------------------------------------------------------------------------------

/** What a name in PreparedIndex.domains stands for: a listed domain's or alias's entity (null for a name
 * only something listed is under), its alias relation or null, the entity's answer parts, and whether
 * something listed is under the name. Fixed fields, so reading them is one load. */
class Listing {
  constructor(entity, relation, parts, above = false) {
    this.entity = entity;
    this.relation = relation;
    this.parts = parts;
    this.above = above;
  }

  /** The same listing, marked as having something listed under its name (shared ones stay unmarked). */
  markedAbove() {
    return new Listing(this.entity, this.relation, this.parts, true);
  }
}
const ABOVE_ONLY = new Listing(null, null, null, true);

/** FNV-1a over text's UTF-16 units from start to its end. */
function nameHash(text, start) {
  let hash = 0x811c9dc5 | 0;
  for (let i = start; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash;
}

/**
 * A string -> value table asked with the end of a string (text from start on), so a registrable domain is
 * looked up in the host name it ends: no slice is made or hashed for the lookup. Open addressing, linear
 * probing, at most half full. A slot is two numbers side by side, the key's hash and its position, so a
 * probe reads one place and a key string is read only when its whole hash is the one asked for; a key and
 * its value sit side by side too.
 */
class NameTable {
  constructor(map) {
    let size = 16;
    while (size < map.size * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size * 2).fill(-1); // [hash, position in entries / 2] per slot; -1: empty
    this.entries = []; // key, value, key, value, …
    for (const [key, value] of map) {
      const hash = nameHash(key, 0);
      let slot = hash & this.mask;
      while (this.slots[slot * 2 + 1] !== -1) slot = (slot + 1) & this.mask;
      this.slots[slot * 2] = hash;
      this.slots[slot * 2 + 1] = this.entries.length / 2;
      this.entries.push(key, value);
    }
  }

  /** The value for text's characters from start to its end, or undefined. */
  get(text, start) {
    const length = text.length - start;
    const slots = this.slots;
    const mask = this.mask;
    const hash = nameHash(text, start);
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const at = slots[slot * 2 + 1];
      if (at === -1) return undefined;
      if (slots[slot * 2] === hash) {
        const key = this.entries[at * 2];
        if (key.length === length && text.startsWith(key, start)) return this.entries[at * 2 + 1];
      }
    }
  }
}

/** The listed entity for a parsed host: the name, or a parent down to its registrable domain. */
function findListed(host, index) {
  if (host.isIp) return null;
  const registrable = host.registrable;
  if (!registrable) return null; // no public suffix, or the name is one
  const name = host.name;
  // the registrable domain is the end of the name: looked up there
  const listing = index.names.get(name, name.length - registrable.length);
  if (listing === undefined) return null; // nothing listed at or under the registrable domain
  if (host.parents === 0 || !listing.above) {
    // Nothing listed is under the registrable domain, so of the name and its parents only it can be listed.
    if (listing.entity === null) return null;
    const relation = listing.relation;
    return { entity: listing.entity, relation, matchedBy: relation !== null ? "alias" : "registrable_domain",
             domain: registrable, parts: listing.parts };
  }
  let parents = host.parents;
  let start = 0;
  let hit = index.names.get(name, 0);
  while ((hit === undefined || hit.entity === null) && parents > 0) {
    start = name.indexOf(".", start) + 1;
    parents -= 1;
    hit = index.names.get(name, start);
  }
  if (hit === undefined || hit.entity === null) return null;
  const relation = hit.relation;
  const candidate = start === 0 ? name : name.slice(start);
  const matchedBy = relation !== null ? "alias" : parents === 0 ? "registrable_domain" : "hostname";
  return { entity: hit.entity, relation, matchedBy, domain: candidate, parts: hit.parts };
}

/**
 * The answer for one host name or URL, from the index alone, in the server's shape plus
 * `source: "builtin"`; a refused input gives { query, error: { code, message }, status }.
 *
 * options.connection = { ip, headers }: the address the browser connected to and the response
 * headers it got (an array of { name, value } or an object); matched against the providers'
 * ranges and header patterns as the server matches its DNS answers.
 *
 * Treat an answer as read-only: answers for the same input share their parts (the match entries,
 * the verdict), as the server's answers do.
 */
export function localCheck(text, index, options) {
  const prepared = index instanceof PreparedIndex ? index : prepareIndex(index);
  const connection = options === undefined ? undefined : options.connection; // no {} made per check
  const cacheable = !connection && typeof text === "string" && text.length <= 255;
  if (!cacheable) return answerFor(text, prepared, connection);
  const kept = prepared.answers.get(text);
  if (kept !== undefined && kept !== SEEN_ONCE) {
    return kept.error ? { query: kept.query, error: kept.error, status: kept.status } : restamp(kept);
  }
  const answer = answerFor(text, prepared, connection);
  prepared.answers.set(text, kept === SEEN_ONCE ? answer : SEEN_ONCE);
  return answer;
}

/** A copy of a kept answer with the time of this check (a literal: spreading is slower in V8 here). */
function restamp(answer) {
  return { query: answer.query, hostname: answer.hostname, hostname_unicode: answer.hostname_unicode,
           registrable_domain: answer.registrable_domain, is_ip: answer.is_ip, verdict: answer.verdict,
           matches: answer.matches, infrastructure: answer.infrastructure, dataset_version: answer.dataset_version,
           checked_at: nowIso(), cached: false, source: answer.source };
}

function answerFor(text, prepared, given) {
  let host;
  try {
    host = prepared.rules.parse(text);
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    return { query: text, error: { code: err.code, message: err.message }, status: err.status };
  }
  const match = findListed(host, prepared);
  if (host.neverResolved && match === null) {
    const suffix = host.name.slice(host.name.lastIndexOf(".") + 1);
    return {
      query: text,
      error: {
        code: "not_public",
        message: `${pyRepr(host.name)} is under .${suffix}, a special-use name; only listed ones are known.`,
      },
      status: 422,
    };
  }
  const connection = host.neverResolved ? null : given ?? null;
  const infrastructure = infrastructureFrom(prepared, host, connection);
  if (infrastructure.json !== undefined) return buildWithoutEvidence(prepared, text, host, match, infrastructure);
  return build(prepared, text, host, match, infrastructure);
}

function infrastructureFrom(index, host, connection) {
  if (host.neverResolved) {
    return ONION_SKIPPED;
  }
  if (!connection || (connection.ip == null && connection.headers == null)) {
    return NOT_READ;
  }
  const providers = new Map(); // provider id -> evidence list, in the index's provider order
  const add = (provider, item) => {
    if (!providers.has(provider.id)) providers.set(provider.id, []);
    providers.get(provider.id).push(item);
  };
  const addresses = [];
  const ip = typeof connection.ip === "string" ? parseIp(connection.ip.replace(/^\[|\]$/g, "")) : null;
  if (ip !== null) {
    const address = formatIp(ip[0], ip[1], "");
    addresses.push(address);
    for (const provider of index.providers) {
      const network = provider.networks.find((net) => net.version === ip[0] && ip[1] >= net.start && ip[1] < net.end);
      if (network) add(provider, { kind: "ip_range", value: address, detail: network.cidr });
    }
  }
  const headers = headerList(connection.headers);
  for (const provider of index.providers) {
    for (const pattern of provider.header_patterns) {
      const wanted = pattern.value?.toLowerCase();
      const seen = headers.find(
        ([name, value]) => name === pattern.name && (wanted === undefined || value.toLowerCase() === wanted));
      if (seen) {
        add(provider, { kind: "header", value: `${seen[0]}: ${seen[1]}`,
                        detail: wanted === undefined ? pattern.name : `${pattern.name}: ${pattern.value}` });
      }
    }
  }
  return { status: "resolved", reason: "", reason_code: "", addresses, providers };
}

// The two answers without evidence, made once: most checks have no connection info.
const NO_PROVIDERS = new Map();
const skipped = (reason, code) => Object.freeze({
  status: "skipped", reason, reason_code: code, addresses: [], providers: NO_PROVIDERS,
  sentence: `Infrastructure not checked: ${reason}`,
  json: Object.freeze({ status: "skipped", reason, reason_code: code, addresses: Object.freeze([]),
                        nameservers: Object.freeze([]), cnames: Object.freeze([]), providers: Object.freeze([]),
                        asns: Object.freeze([]), elapsed_ms: null }),
});
const NOT_READ = skipped(NO_CONNECTION_REASON, "no_permission");
const ONION_SKIPPED = skipped(ONION_REASON, "never_resolved");
const FIXED_BADGES = Object.fromEntries(
  Object.entries(BADGES).map(([level, badge]) => [level, Object.freeze({ ...badge })]));

function headerList(headers) {
  if (!headers) return [];
  const entries = Array.isArray(headers)
    ? headers.map((header) => [header?.name, header?.value])
    : Object.entries(headers);
  return entries
    .filter(([name, value]) => typeof name === "string" && typeof value === "string")
    .map(([name, value]) => [name.trim().toLowerCase(), value.trim()]);
}

function describeEvidence(providerName, evidence) {
  const parts = evidence.map((item) =>
    item.kind === "ip_range"
      ? `${item.value} is in its published range ${item.detail}`
      : `the response header ${item.value}`);
  return `Served by ${providerName}: ${parts.join("; ")}.`;
}

const caseCount = (n) => (n === 1 ? `${n} case` : `${n} cases`);

// verdict.build of the server, with the level `related` and evidence from the browser's own connection.
function build(index, query, host, match, infrastructure) {
  const matches = [];
  const reasons = [];
  let level = "none";
  let badgeText = "";

  if (match !== null) {
    const shared = index.matchEntry(match.entity, match.matchedBy);
    // Spelled out rather than spread: a literal of known shape is made several times faster.
    const entry = { entity: shared.entity, matched_by: shared.matched_by, role: shared.role, cases: shared.cases,
                    aliases: shared.aliases, related: shared.related, matched_domain: match.domain };
    if (match.relation) entry.relation = match.relation;
    matches.push(entry);
    const said = index.sayings(match.entity, shared);
    level = said.level;
    badgeText = BADGES[level].text;
    const via = match.relation ? ` (a ${match.relation} domain)` : "";
    reasons.push(match.domain + via + said.tail);
    for (const line of said.lines) reasons.push(line);
  }

  const providerEntries = [];
  const matchedIds = infrastructure.providers.size ? new Set(matches.map((m) => m.entity.id)) : null;
  for (const provider of infrastructure.providers.size ? index.providers : []) {
    const evidence = infrastructure.providers.get(provider.id);
    if (evidence === undefined) continue;
    const entity = index.entity(provider.entity_id);
    const providerName = provider.name || entity?.name || provider.id;
    const summary = describeEvidence(providerName, evidence);
    providerEntries.push({ id: provider.id, name: providerName, short_label: provider.short_label,
                           entity_id: provider.entity_id, evidence, summary });
    reasons.push(summary);
    if (entity !== undefined && entity.cases.length) {
      if (level === "none") [level, badgeText] = ["infrastructure", provider.short_label];
      if (!matchedIds.has(entity.id)) {
        const entry = index.matchEntry(entity, "provider");
        matches.push(entry);
        matchedIds.add(entity.id);
        reasons.push(
          `${providerName} is ${ROLE_WORDS[entry.role]} in ${caseCount(entry.cases.length)} about sites it serves.`);
      }
    }
  }

  if (infrastructure.status !== "resolved") reasons.push(infrastructure.sentence);
  if (level === "none" && match === null) {
    reasons.unshift(`${host.registrable || host.name} is not in the list of entities named in enforcement reporting.`);
  }

  return {
    query,
    hostname: host.name,
    hostname_unicode: host.isIp ? host.name : index.rules.toUnicode(host.name),
    registrable_domain: host.registrable,
    is_ip: host.isIp,
    verdict: {
      level,
      badge: badgeText === BADGES[level].text ? FIXED_BADGES[level] : { text: badgeText, color: BADGES[level].color },
      reasons,
    },
    matches,
    infrastructure: infrastructure.json ?? {
      status: infrastructure.status,
      reason: infrastructure.reason,
      reason_code: infrastructure.reason_code,
      addresses: infrastructure.addresses,
      nameservers: [],
      cnames: [],
      providers: providerEntries,
      asns: [],
      elapsed_ms: null,
    },
    dataset_version: index.version,
    checked_at: nowIso(),
    cached: false,
    source: "builtin",
  };
}

/**
 * build() for an infrastructure part without evidence (NOT_READ, ONION_SKIPPED), the usual case: the
 * same answer, from the entity's sayings, with no provider to go through.
 */
function buildWithoutEvidence(index, query, host, match, infrastructure) {
  let level = "none";
  let matches;
  let reasons;
  if (match !== null) {
    const parts = match.parts;
    const matchedBy = match.matchedBy;
    let shared = matchedBy === "registrable_domain" ? parts.registrable_domain
      : matchedBy === "hostname" ? parts.hostname : parts.alias;
    if (shared === null) {
      shared = index.matchEntry(match.entity, matchedBy);
      if (matchedBy === "registrable_domain") parts.registrable_domain = shared;
      else if (matchedBy === "hostname") parts.hostname = shared;
      else parts.alias = shared;
    }
    const entry = { entity: shared.entity, matched_by: shared.matched_by, role: shared.role, cases: shared.cases,
                    aliases: shared.aliases, related: shared.related, matched_domain: match.domain };
    if (match.relation) entry.relation = match.relation;
    matches = [entry];
    let said = parts.said;
    if (said === null) said = parts.said = index.sayings(match.entity, shared);
    level = said.level;
    const first = match.relation ? `${match.domain} (a ${match.relation} domain)${said.tail}`
      : match.domain + said.tail;
    const lines = said.lines;
    if (lines.length === 0) {
      reasons = [first, infrastructure.sentence];
    } else {
      reasons = [first];
      for (let i = 0; i < lines.length; i++) reasons.push(lines[i]);
      reasons.push(infrastructure.sentence);
    }
  } else {
    matches = [];
    reasons = [`${host.registrable || host.name} is not in the list of entities named in enforcement reporting.`,
               infrastructure.sentence];
  }
  return {
    query,
    hostname: host.name,
    hostname_unicode: host.isIp || host.plain ? host.name : index.rules.toUnicode(host.name),
    registrable_domain: host.registrable,
    is_ip: host.isIp,
    verdict: { level, badge: FIXED_BADGES[level], reasons },
    matches,
    infrastructure: infrastructure.json,
    dataset_version: index.version,
    checked_at: nowIso(),
    cached: false,
    source: "builtin",
  };
}

let clock = [null, ""];

/** The current UTC time to the second, as the server writes it (made once per second). */
function nowIso() {
  const second = Math.floor(Date.now() / 1000);
  if (clock[0] !== second) clock = [second, new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00")];
  return clock[1];
}
