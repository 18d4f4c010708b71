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
// What this entity is to a related one, from what the related one is to it (the index stores the latter).
const INVERSE_WORDS = Object.freeze({
  predecessor: "the successor of",
  successor: "the predecessor of",
  mirror: "a mirror of",
  operator: "run by",
});

export const NO_CONNECTION_REASON =
  "The browser's own connection to the site is not read unless you allow it in the settings.";
export const ONION_REASON = "Onion names are never resolved: they are reached through Tor, not DNS.";

const MAX_INPUT_LENGTH = 2048;
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
// Answers kept per prepared index for inputs without connection info: a browser visits the same few
// hosts again and again (the server keeps parsed names the same way). The oldest goes first when full.
const ANSWER_CACHE_SIZE = 2048;

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
      if (!Array.isArray(entity[key]) || !entity[key].every(Array.isArray)) fail(`${where}.${key} should be a list of lists`);
    }
    for (const [caseId, , sourceIds] of entity.cases) {
      if (kindOf(index.cases[caseId]) !== "object") fail(`${where} refers to case ${JSON.stringify(caseId)}, which is not in "cases"`);
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
  });
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
    this.domains = new Map(); // domain -> [entity, alias relation or null]
    for (const entity of index.entities) {
      this.entities.set(entity.id, entity);
      const own = [entity, null];
      for (const domain of entity.domains) this.domains.set(domain, own);
    }
    for (const entity of index.entities) {
      for (const [domain, relation] of entity.aliases) this.domains.set(domain, [entity, relation]);
    }
    this.suffixes = new SuffixTrie([...index.public_suffixes.icann, ...index.public_suffixes.private]);
    this.specialTlds = new Set();
    this.specialSeconds = new Map(); // "com" -> {"example"} for example.com
    for (const suffix of index.special_use.suffixes) {
      const [second, tld] = suffix.split(".");
      if (tld === undefined) this.specialTlds.add(second);
      else this.specialSeconds.set(tld, (this.specialSeconds.get(tld) ?? new Set()).add(second));
    }
    this.neverResolved = new Set(index.special_use.never_resolved);
    this.idna = {
      pvalid: Uint32Array.from(index.idna.pvalid),
      contextj: Uint32Array.from(index.idna.contextj),
      contexto: Uint32Array.from(index.idna.contexto),
      bidi: Object.entries(index.idna.bidi).map(([direction, flat]) => [direction, Uint32Array.from(flat)]),
    };
    this.notGlobal = { 4: index.not_global.ipv4.map(parseCidr), 6: index.not_global.ipv6.map(parseCidr) };
    this.providers = index.providers.map((provider) => ({
      ...provider,
      networks: [...provider.ipv4, ...provider.ipv6].map((cidr) => ({ cidr, ...parseCidr(cidr) })),
    }));
    this._matches = new Map(); // (entity id, matched_by) -> the shared part of a match entry
    this._cases = new Map(); // entity id -> its cases in the API's shape
    this._answers = new Map(); // input text -> answer (without connection info)
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
    const key = entity.id + "\n" + matchedBy;
    let entry = this._matches.get(key);
    if (entry === undefined) {
      entry = {
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
          }),
      };
      this._matches.set(key, entry);
    }
    return entry;
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

// --- the public suffix list, split as tldextract splits it --------------------------------------------

class SuffixTrie {
  constructor(rules) {
    this.root = { children: new Map(), end: false };
    for (const rule of rules) {
      let node = this.root;
      for (const label of rule.split(".").reverse()) {
        let next = node.children.get(label);
        if (next === undefined) {
          next = { children: new Map(), end: false };
          node.children.set(label, next);
        }
        node = next;
      }
      node.end = true;
    }
  }

  /**
   * The index of the first label of a normalised name's public suffix: labels.length when it has
   * none, 0 when the whole name is a suffix. tldextract's walk, not the PSL algorithm's: no implicit
   * "*" rule (an unknown top-level name has no suffix), and a wildcard applies only where no
   * explicit rule continues.
   */
  suffixIndex(labels) {
    let node = this.root;
    let index = labels.length;
    let suffixIndex = labels.length;
    for (let i = labels.length - 1; i >= 0; i--) {
      const next = node.children.get(labels[i]);
      if (next !== undefined) {
        index -= 1;
        node = next;
        if (node.end) suffixIndex = index;
        continue;
      }
      if (node.children.has("*")) return node.children.has("!" + labels[i]) ? index : index - 1;
      break;
    }
    return suffixIndex;
  }
}

// --- parsing, as server/caseflag/domains.py parses ------------------------------------------------------

class Refused extends Error {
  constructor(code, status, message) {
    super(message);
    this.code = code;
    this.status = status;
  }
}
const invalid = (message) => new Refused("invalid_domain", 400, message);
const notPublic = (message) => new Refused("not_public", 422, message);

// Python's str.strip() removes exactly these (str.isspace); JavaScript's trim() differs slightly.
const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const CONTROL = /[\x00-\x20\x7f]/;
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.\-]*:\/\//;
// str.isdigit(): decimal digits and the other digits (superscripts, circled digits, …).
const PY_DIGITS = /^[\p{Nd}\u00b2\u00b3\u00b9\u1369-\u1371\u19da\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247c\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792\u{10a40}-\u{10a43}\u{10e60}-\u{10e68}\u{11052}-\u{1105a}\u{1f100}-\u{1f10a}]+$/u;
const PY_DECIMAL = /^\p{Nd}$/u;

function pyStrip(text) {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.includes(text[start])) start++;
  while (end > start && PY_SPACE.includes(text[end - 1])) end--;
  return text.slice(start, end);
}

function extractHost(text) {
  let rest = text.includes("://") ? text.replace(SCHEME, "") : text;
  if (rest.startsWith("//")) rest = rest.slice(2);
  for (const sep of "/?#") {
    const at = rest.indexOf(sep);
    if (at !== -1) rest = rest.slice(0, at);
  }
  rest = rest.slice(rest.lastIndexOf("@") + 1);
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end === -1) throw invalid("An IPv6 address in brackets is missing its closing ']'.");
    const port = rest.slice(end + 1);
    if (port && !/^:[\p{Nd}]{0,5}$/u.test(port)) throw invalid("Unexpected text after the bracketed IPv6 address.");
    return rest.slice(1, end);
  }
  const colon = rest.indexOf(":");
  if (colon !== -1 && rest.indexOf(":", colon + 1) === -1) {
    const port = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (port && !PY_DIGITS.test(port)) throw invalid(`The port ${pyRepr(port)} is not a number.`);
  }
  return rest;
}

function pyRepr(text) {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replaceAll("'", "\\'")}'`;
}

/** The hostname in ASCII, lowercase: the server's _to_ascii (Python idna, UTS 46 then IDNA 2008). */
function toAscii(host, index) {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(host)) return host.toLowerCase();
  // IDNA 2008 allows no ASCII but letters, digits and hyphens in a label; the URL parser would
  // percent-decode or reject some of them on its own terms.
  if (/[\x00-\x2c\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/.test(host)) {
    throw invalid("Not a valid internationalised domain name: it mixes in characters a host name cannot have.");
  }
  let mapped;
  try {
    // The extra label keeps the URL parser from reading a numeric last label as an IPv4 address.
    mapped = new URL(`http://${host}.a/`).hostname;
  } catch {
    throw invalid("Not a valid internationalised domain name.");
  }
  if (!mapped.endsWith(".a")) throw invalid("Not a valid internationalised domain name.");
  mapped = mapped.slice(0, -2);
  const labels = mapped.split(".");
  if (labels.length > 1 && labels[labels.length - 1] === "") labels.pop(); // idna keeps a trailing dot
  for (const label of labels) {
    if (label === "") continue; // refused below as an empty label, as the server does
    checkIdnaLabel(label, index);
  }
  return mapped;
}

function checkIdnaLabel(label, index) {
  let unicode = label;
  if (label.startsWith("xn--")) {
    const body = label.slice(4);
    if (!body || body.endsWith("-")) throw invalid("Not a valid internationalised domain name: a malformed A-label.");
    unicode = punycodeDecode(body);
    if (unicode === null || punycodeEncode(unicode) !== body) {
      throw invalid("Not a valid internationalised domain name: an invalid A-label.");
    }
  }
  if (unicode.normalize("NFC") !== unicode) throw invalid("Not a valid internationalised domain name: not in NFC.");
  if (unicode.slice(2, 4) === "--") {
    throw invalid("Not a valid internationalised domain name: Label has disallowed hyphens in 3rd and 4th position");
  }
  if (unicode.startsWith("-") || unicode.endsWith("-")) {
    throw invalid("Not a valid internationalised domain name: Label must not start or end with a hyphen");
  }
  if (/^\p{M}/u.test(unicode)) throw invalid("Not a valid internationalised domain name: it starts with a combining mark.");
  const points = Array.from(unicode);
  points.forEach((char, position) => {
    const cp = char.codePointAt(0);
    if (inRanges(index.idna.pvalid, cp)) return;
    if (inRanges(index.idna.contextj, cp)) return; // the URL parser checked joiners (CheckJoiners)
    if (inRanges(index.idna.contexto, cp) && validContextO(points, position)) return;
    throw invalid(`Not a valid internationalised domain name: Codepoint U+${cp.toString(16).toUpperCase().padStart(4, "0")} not allowed`);
  });
  checkBidi(points.map((char) => direction(char.codePointAt(0), index)));
}

function direction(cp, index) {
  for (const [name, flat] of index.idna.bidi) if (inRanges(flat, cp)) return name;
  return "L";
}

const RTL_ALLOWED = new Set(["R", "AL", "AN", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"]);
const LTR_ALLOWED = new Set(["L", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"]);

/** The Bidi Rule (RFC 5893) for one label, as the idna package applies it: only to a label with R, AL or AN. */
function checkBidi(directions) {
  const bad = () => invalid("Not a valid internationalised domain name: the label breaks the Bidi Rule.");
  if (directions.includes("")) throw bad(); // a code point newer than the server's Unicode data
  if (!directions.some((d) => d === "R" || d === "AL" || d === "AN")) return;
  const rtl = directions[0] === "R" || directions[0] === "AL";
  if (!rtl && directions[0] !== "L") throw bad();
  let validEnding = false;
  let numberType = null;
  for (const d of directions) {
    if (!(rtl ? RTL_ALLOWED : LTR_ALLOWED).has(d)) throw bad();
    if (rtl ? d === "R" || d === "AL" || d === "EN" || d === "AN" : d === "L" || d === "EN") validEnding = true;
    else if (d !== "NSM") validEnding = false;
    if (rtl && (d === "AN" || d === "EN")) {
      if (numberType === null) numberType = d;
      else if (numberType !== d) throw bad();
    }
  }
  if (!validEnding) throw bad();
}

function inRanges(flat, cp) {
  let lo = 0;
  let hi = flat.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < flat[2 * mid]) hi = mid - 1;
    else if (cp >= flat[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

// RFC 5892 appendix A, as the idna package applies it.
function validContextO(points, position) {
  const cp = points[position].codePointAt(0);
  const before = points[position - 1];
  const after = points[position + 1];
  if (cp === 0x00b7) return before === "l" && after === "l";
  if (cp === 0x0375) return after !== undefined && /\p{Script=Greek}/u.test(after);
  if (cp === 0x05f3 || cp === 0x05f4) return before !== undefined && /\p{Script=Hebrew}/u.test(before);
  if (cp === 0x30fb) {
    return points.some((c) => c !== "\u30fb" && /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u.test(c));
  }
  if (cp >= 0x660 && cp <= 0x669) return !points.some((c) => c >= "\u06f0" && c <= "\u06f9");
  if (cp >= 0x6f0 && cp <= 0x6f9) return !points.some((c) => c >= "\u0660" && c <= "\u0669");
  return false;
}

// RFC 3492 with the parameters of IDNA.
const BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, INITIAL_BIAS = 72, INITIAL_N = 128;

function adapt(delta, points, first) {
  delta = first ? Math.floor(delta / DAMP) : delta >> 1;
  delta += Math.floor(delta / points);
  let k = 0;
  while (delta > ((BASE - TMIN) * TMAX) >> 1) {
    delta = Math.floor(delta / (BASE - TMIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - TMIN + 1) * delta) / (delta + SKEW));
}

function digitValue(code) {
  if (code >= 48 && code <= 57) return code - 22;
  if (code >= 65 && code <= 90) return code - 65;
  if (code >= 97 && code <= 122) return code - 97;
  return BASE;
}

function punycodeDecode(input) {
  const output = [];
  const basicEnd = input.lastIndexOf("-");
  for (let j = 0; j < Math.max(basicEnd, 0); j++) {
    if (input.charCodeAt(j) >= 0x80) return null;
    output.push(input.charCodeAt(j));
  }
  let n = INITIAL_N, bias = INITIAL_BIAS, i = 0;
  for (let pos = basicEnd > 0 ? basicEnd + 1 : 0; pos < input.length;) {
    const oldi = i;
    for (let w = 1, k = BASE; ; k += BASE) {
      if (pos >= input.length) return null;
      const digit = digitValue(input.charCodeAt(pos++));
      if (digit >= BASE) return null;
      i += digit * w;
      if (i > 0x7fffffff) return null;
      const t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
      if (digit < t) break;
      w *= BASE - t;
      if (w > 0x7fffffff) return null;
    }
    bias = adapt(i - oldi, output.length + 1, oldi === 0);
    n += Math.floor(i / (output.length + 1));
    if (n > 0x10ffff) return null;
    i %= output.length + 1;
    output.splice(i++, 0, n);
  }
  return String.fromCodePoint(...output);
}

function punycodeEncode(text) {
  const input = Array.from(text, (c) => c.codePointAt(0));
  let output = input.filter((c) => c < 0x80).map((c) => String.fromCharCode(c)).join("");
  const basic = output.length;
  let handled = basic;
  if (basic) output += "-";
  let n = INITIAL_N, delta = 0, bias = INITIAL_BIAS;
  while (handled < input.length) {
    const m = Math.min(...input.filter((c) => c >= n));
    delta += (m - n) * (handled + 1);
    n = m;
    for (const c of input) {
      if (c < n) delta++;
      if (c === n) {
        let q = delta;
        for (let k = BASE; ; k += BASE) {
          const t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
          if (q < t) break;
          const d = t + ((q - t) % (BASE - t));
          output += String.fromCharCode(d + (d < 26 ? 97 : 22));
          q = Math.floor((q - t) / (BASE - t));
        }
        output += String.fromCharCode(q + (q < 26 ? 97 : 22));
        bias = adapt(delta, handled + 1, handled === basic);
        delta = 0;
        handled++;
      }
    }
    delta++;
    n++;
  }
  return output;
}

// --- IP addresses, as Python's ipaddress reads them -------------------------------------------------

/** [version, BigInt value, scope or ""] for an address Python's ip_address() accepts, else null. */
function parseIp(text) {
  const v4 = parseIpv4(text);
  if (v4 !== null) return [4, v4, ""];
  return parseIpv6(text);
}

function parseIpv4(text) {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text) {
  let address = text;
  let scope = "";
  const percent = text.indexOf("%");
  if (percent !== -1) {
    address = text.slice(0, percent);
    scope = text.slice(percent + 1);
    if (!scope || scope.includes("%")) return null;
  }
  if (!address) return null;
  const parts = address.split(":");
  if (parts.length < 3) return null;
  if (parts[parts.length - 1].includes(".")) {
    const v4 = parseIpv4(parts.pop());
    if (v4 === null) return null;
    parts.push((v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
  }
  if (parts.length > 9) return null;
  let skip = null;
  for (let i = 1; i < parts.length - 1; i++) {
    if (!parts[i]) {
      if (skip !== null) return null;
      skip = i;
    }
  }
  let hi, lo, skipped;
  if (skip !== null) {
    hi = skip;
    lo = parts.length - skip - 1;
    if (!parts[0] && --hi) return null;
    if (!parts[parts.length - 1] && --lo) return null;
    skipped = 8 - (hi + lo);
    if (skipped < 1) return null;
  } else {
    if (parts.length !== 8 || !parts[0] || !parts[parts.length - 1]) return null;
    hi = parts.length;
    lo = 0;
    skipped = 0;
  }
  let value = 0n;
  const hextet = (part) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    return BigInt(parseInt(part, 16));
  };
  for (let i = 0; i < hi; i++) {
    const h = hextet(parts[i]);
    if (h === null) return null;
    value = (value << 16n) | h;
  }
  value <<= 16n * BigInt(skipped);
  for (let i = parts.length - lo; i < parts.length; i++) {
    const h = hextet(parts[i]);
    if (h === null) return null;
    value = (value << 16n) | h;
  }
  return [6, value, scope];
}

/** The address as Python writes it (`compressed`). */
function formatIp(version, value, scope) {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  }
  let hextets = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) hextets.push(((value >> shift) & 0xffffn).toString(16));
  let bestStart = -1, bestLen = 0, start = -1, len = 0;
  hextets.forEach((h, i) => {
    if (h === "0") {
      len += 1;
      if (start === -1) start = i;
      if (len > bestLen) {
        bestLen = len;
        bestStart = start;
      }
    } else {
      len = 0;
      start = -1;
    }
  });
  if (bestLen > 1) {
    const end = bestStart + bestLen;
    if (end === hextets.length) hextets.push("");
    hextets.splice(bestStart, bestLen, "");
    if (bestStart === 0) hextets = ["", ...hextets];
  }
  const text = hextets.join(":");
  return scope ? `${text}%${scope}` : text;
}

function parseCidr(cidr) {
  const [address, bits] = cidr.split("/");
  const parsed = parseIp(address);
  if (parsed === null || !/^[0-9]{1,3}$/.test(bits)) fail(`${JSON.stringify(cidr)} is not a network`);
  const width = parsed[0] === 4 ? 32n : 128n;
  const size = width - BigInt(bits);
  return { version: parsed[0], start: (parsed[1] >> size) << size, end: ((parsed[1] >> size) << size) + (1n << size) };
}

function inNetworks(networks, value) {
  return networks.some((net) => value >= net.start && value < net.end);
}

// --- the check ------------------------------------------------------------------------------------------

/**
 * Parses text as the server does: { name, registrable, isIp } or a thrown Refused. Names under a
 * never-resolved suffix (.onion) come back with neverResolved set; the caller refuses them unless listed.
 */
function parse(text, index) {
  if (typeof text !== "string") throw invalid("A domain must be given as a string.");
  text = pyStrip(text);
  if (!text) throw invalid("The domain is empty.");
  // Python counts code points, JavaScript UTF-16 units: count again only when it could matter.
  if (text.length > MAX_INPUT_LENGTH && Array.from(text).length > MAX_INPUT_LENGTH) throw invalid(`The input is longer than ${MAX_INPUT_LENGTH} characters.`);
  if (CONTROL.test(text)) throw invalid("The domain contains spaces or control characters.");
  let host = extractHost(text);
  if (host.includes(":")) {
    const ip = publicIp(host, index);
    if (ip === null) throw invalid(`${pyRepr(host)} is neither a host name nor an IP address.`);
    return ip;
  }
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (!host) throw invalid("The domain is empty.");
  const ip = publicIp(host, index);
  if (ip !== null) return ip;

  const name = toAscii(host, index);
  if (name.length > MAX_NAME_LENGTH) throw invalid(`The name is longer than ${MAX_NAME_LENGTH} characters.`);
  const labels = name.split(".");
  for (const label of labels) {
    if (!label) throw invalid("The name has an empty label (two dots in a row, or a leading dot).");
    if (label.length > MAX_LABEL_LENGTH) throw invalid(`A label is longer than ${MAX_LABEL_LENGTH} characters.`);
    if (!isHostLabel(label)) {
      throw invalid(`The label ${pyRepr(label)} has characters a host name cannot have (letters, digits and inner hyphens only).`);
    }
  }
  if (labels.length < 2) throw notPublic(`${pyRepr(name)} is a single label, not a public Internet name.`);
  const special = specialUseSuffix(labels, index);
  const neverResolved = special !== null && index.neverResolved.has(special);
  if (special !== null && !neverResolved) {
    throw notPublic(`${pyRepr(name)} is under .${special}, a special-use name that is never a public Internet site.`);
  }
  const suffixAt = index.suffixes.suffixIndex(labels);
  if (suffixAt === labels.length) throw notPublic(`${pyRepr(name)} does not end in a public suffix (like .com or .co.uk).`);
  if (suffixAt === 0) throw notPublic(`${pyRepr(name)} is itself a public suffix; no one can register it as a site.`);
  // Most names are their own registrable domain or one label above it: no join needed for those.
  const registrable = suffixAt === 1 ? name : suffixAt === 2 ? name.slice(labels[0].length + 1)
    : labels.slice(suffixAt - 1).join(".");
  return { name, registrable, parents: suffixAt - 1, isIp: false, neverResolved };
}

/** _LABEL of domains.py, ^(?!-)[a-z0-9_-]{1,63}(?<!-)$, without a regular expression. */
function isHostLabel(label) {
  const last = label.length - 1;
  if (label.charCodeAt(0) === 45 || label.charCodeAt(last) === 45) return false;
  for (let i = 0; i <= last; i++) {
    const c = label.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) return false;
  }
  return true;
}

function specialUseSuffix(labels, index) {
  const tld = labels[labels.length - 1];
  if (index.specialTlds.has(tld)) return tld;
  const second = labels[labels.length - 2];
  return index.specialSeconds.get(tld)?.has(second) ? `${second}.${tld}` : null;
}

function publicIp(host, index) {
  // An IPv6 address has a colon, an IPv4 one ends in a digit: most host names are neither.
  const last = host.charCodeAt(host.length - 1);
  if (!(last >= 48 && last <= 57) && !host.includes(":")) return null;
  const parsed = parseIp(host);
  if (parsed === null) return null;
  const [version, value, scope] = parsed;
  if (inNetworks(index.notGlobal[version], value)) {
    throw notPublic(`${formatIp(version, value, "")} is a private, loopback, link-local or reserved address, not a public one.`);
  }
  return { name: formatIp(version, value, scope), registrable: null, parents: 0, isIp: true, neverResolved: false };
}

/** The listed entity for a parsed host: the name, or a parent down to its registrable domain. */
function findListed(host, index) {
  if (host.isIp) return null;
  let parents = host.parents;
  let candidate = host.name;
  let hit = index.domains.get(candidate);
  while (hit === undefined && parents > 0) {
    candidate = candidate.slice(candidate.indexOf(".") + 1);
    parents -= 1;
    hit = index.domains.get(candidate);
  }
  if (hit === undefined) return null;
  const [entity, relation] = hit;
  const matchedBy = relation !== null ? "alias" : candidate === host.registrable ? "registrable_domain" : "hostname";
  return { entity, relation, matchedBy, domain: candidate };
}

/** The display form of an ASCII name: its punycode labels decoded, or the name as it is when one is not valid IDNA. */
function toUnicode(name, index) {
  if (!name.includes("xn--")) return name;
  try {
    return name
      .split(".")
      .map((label) => {
        checkIdnaLabel(label, index);
        return label.startsWith("xn--") ? punycodeDecode(label.slice(4)) : label;
      })
      .join(".");
  } catch (err) {
    if (err instanceof Refused) return name;
    throw err;
  }
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
export function localCheck(text, index, options = {}) {
  const prepared = index instanceof PreparedIndex ? index : prepareIndex(index);
  const cacheable = !options.connection && typeof text === "string" && text.length <= 255;
  if (cacheable) {
    const hit = prepared._answers.get(text);
    if (hit !== undefined) return hit.error ? { ...hit } : { ...hit, checked_at: nowIso() };
  }
  const answer = answerFor(text, prepared, options);
  if (cacheable) {
    if (prepared._answers.size >= ANSWER_CACHE_SIZE) prepared._answers.delete(prepared._answers.keys().next().value);
    prepared._answers.set(text, answer);
  }
  return answer;
}

function answerFor(text, prepared, options) {
  let host;
  try {
    host = parse(text, prepared);
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    return { query: text, error: { code: err.code, message: err.message }, status: err.status };
  }
  const match = findListed(host, prepared);
  if (host.neverResolved && match === null) {
    const suffix = host.name.slice(host.name.lastIndexOf(".") + 1);
    return {
      query: text,
      error: { code: "not_public", message: `${pyRepr(host.name)} is under .${suffix}, a special-use name; only listed ones are known.` },
      status: 422,
    };
  }
  const connection = host.neverResolved ? null : options.connection ?? null;
  return build(prepared, text, host, match, infrastructureFrom(prepared, host, connection));
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
      const seen = headers.find(([name, value]) => name === pattern.name && (wanted === undefined || value.toLowerCase() === wanted));
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
const FIXED_BADGES = Object.fromEntries(Object.entries(BADGES).map(([level, badge]) => [level, Object.freeze({ ...badge })]));

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
    item.kind === "ip_range" ? `${item.value} is in its published range ${item.detail}` : `the response header ${item.value}`);
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
    const entry = { ...shared, matched_domain: match.domain };
    if (match.relation) entry.relation = match.relation;
    matches.push(entry);
    const name = match.entity.name;
    const via = match.relation ? ` (a ${match.relation} domain)` : "";
    const count = shared.cases.length;
    if (count) {
      const first = shared.cases[0];
      const more = count > 1 ? ` and appears in ${count - 1} more case${count > 2 ? "s" : ""}` : "";
      [level, badgeText] = shared.cases.some((c) => TARGET_ROLES.has(c.role)) ? ["target", "!"] : ["party", "i"];
      reasons.push(`${match.domain}${via} belongs to ${name}, ${ROLE_WORDS[first.role]} in "${first.title}"${more}.`);
    } else {
      const linked = shared.related.find((rel) => rel.cases.length > 0);
      if (linked) {
        level = "related";
        badgeText = BADGES.related.text;
        const how = INVERSE_WORDS[linked.relation] ?? `linked (${linked.relation}) to`;
        const first = linked.cases[0];
        reasons.push(`${match.domain}${via} belongs to ${name}, ${how} ${linked.name}, ${ROLE_WORDS[first.role]} in "${first.title}".`);
      } else {
        reasons.push(`${match.domain}${via} belongs to ${name}, which is listed but named in no case.`);
      }
    }
    for (const rel of shared.related) reasons.push(`${name} has a ${rel.relation}: ${rel.name}.`);
  }

  const providerEntries = [];
  const matchedIds = new Set(matches.map((m) => m.entity.id));
  for (const provider of index.providers) {
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
        reasons.push(`${providerName} is ${ROLE_WORDS[entry.role]} in ${caseCount(entry.cases.length)} about sites it serves.`);
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
    hostname_unicode: host.isIp ? host.name : toUnicode(host.name, index),
    registrable_domain: host.registrable,
    is_ip: host.isIp,
    verdict: { level, badge: badgeText === BADGES[level].text ? FIXED_BADGES[level] : { text: badgeText, color: BADGES[level].color },
               reasons },
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

let clock = [null, ""];

/** The current UTC time to the second, as the server writes it (made once per second). */
function nowIso() {
  const second = Math.floor(Date.now() / 1000);
  if (clock[0] !== second) clock = [second, new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00")];
  return clock[1];
}
