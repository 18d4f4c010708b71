/**
 * Host names as the server reads them (server/caseflag/domains.py): Python's whitespace, the same URL
 * cutting, Python idna's UTS 46 + IDNA 2008 (the URL parser maps, the index's tables decide what is
 * allowed), Python ipaddress's IP literals and non-public networks, tldextract's suffix walk and the
 * special-use names. Every refusal is a Refused with the server's code and status.
 */

const MAX_INPUT_LENGTH = 2048;
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** What parsing needs from an index, built once: the suffix trie, special-use names, IDNA and IP tables. */
export class HostnameRules {
  constructor(index) {
    this.suffixes = new SuffixTrie([...index.public_suffixes.icann, ...index.public_suffixes.private]);
    this.specialUse = index.special_use.suffixes.map((suffix) => [suffix, "." + suffix]); // [suffix, ".suffix"]
    // For the fast path: by the trie node of a last label, the special-use names ending in that label.
    this.specialUseByTop = new Map();
    for (const pair of this.specialUse) {
      const node = this.suffixes.root.children.get(pair[0].slice(pair[0].lastIndexOf(".") + 1));
      if (node === undefined) continue;
      if (!this.specialUseByTop.has(node)) this.specialUseByTop.set(node, []);
      this.specialUseByTop.get(node).push(pair);
    }
    this.neverResolved = new Set(index.special_use.never_resolved);
    this.idna = {
      pvalid: Uint32Array.from(index.idna.pvalid),
      contextj: Uint32Array.from(index.idna.contextj),
      contexto: Uint32Array.from(index.idna.contexto),
      bidi: Object.entries(index.idna.bidi).map(([direction, flat]) => [direction, Uint32Array.from(flat)]),
    };
    this.notGlobal = { 4: index.not_global.ipv4.map(parseCidr), 6: index.not_global.ipv6.map(parseCidr) };
  }

  /**
   * { name, registrable, parents, isIp, neverResolved, plain } for text, or a thrown Refused. plain: the
   * name is its own display form (no label is an A-label).
   */
  parse(text) {
    return (typeof text === "string" && fastParse(text, this)) || parse(text, this);
  }

  /** The display form of a parsed name, as the server's Hostname.unicode. */
  toUnicode(name) {
    return toUnicode(name, this);
  }
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
    // For the fast path: per node, whether a wildcard rule continues it, and the shape (length, first
    // and last character) of every child label, so a label no child can be is never cut out of the name.
    const stack = [this.root];
    while (stack.length) {
      const node = stack.pop();
      node.wild = node.children.has("*");
      node.byShape = new Map(); // shape -> [[label, child], …]
      for (const [label, child] of node.children) {
        const shape = labelShape(label.length, label.charCodeAt(0), label.charCodeAt(label.length - 1));
        if (!node.byShape.has(shape)) node.byShape.set(shape, []);
        node.byShape.get(shape).push([label, child]);
        stack.push(child);
      }
    }
  }

  /**
   * How many of a normalised name's last labels are its public suffix: 0 when it has none. Labels
   * are taken from the right without splitting the name. tldextract's walk, not the PSL
   * algorithm's: no implicit "*" rule (an unknown top-level name has no suffix), and a wildcard
   * applies only where no explicit rule continues.
   */
  suffixLength(name) {
    let node = this.root;
    let depth = 0;
    let suffix = 0;
    for (let end = name.length; end > 0;) {
      const dot = name.lastIndexOf(".", end - 1);
      const label = name.slice(dot + 1, end);
      const next = node.children.get(label);
      if (next === undefined) {
        if (node.children.has("*")) return node.children.has("!" + label) ? depth : depth + 1;
        break;
      }
      depth += 1;
      node = next;
      if (node.end) suffix = depth;
      end = dot;
    }
    return suffix;
  }
}

/** A small integer for a label's length, first and last character (NaN, for an empty label, reads as 0). */
function labelShape(length, first, last) {
  return (length << 16) | ((first & 0xff) << 8) | (last & 0xff);
}

/** The child of node whose label is text's characters from start to end, or undefined; no string is made. */
function childAt(node, text, start, end) {
  const candidates = node.byShape.get(labelShape(end - start, text.charCodeAt(start), text.charCodeAt(end - 1)));
  if (candidates === undefined) return undefined;
  for (let i = 0; i < candidates.length; i++) {
    if (text.startsWith(candidates[i][0], start)) return candidates[i][1];
  }
  return undefined;
}

// --- parsing, as server/caseflag/domains.py parses ------------------------------------------------------

export class Refused extends Error {
  constructor(code, status, message) {
    super(message);
    this.code = code;
    this.status = status;
  }
}
const invalid = (message) => new Refused("invalid_domain", 400, message);
const notPublic = (message) => new Refused("not_public", 422, message);

// Python's str.strip() removes exactly these (str.isspace); JavaScript's trim() differs slightly.
const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
  + "\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const CONTROL = /[\x00-\x20\x7f]/;
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.\-]*:\/\//;

function pyStrip(text) {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.includes(text[start])) start++;
  while (end > start && PY_SPACE.includes(text[end - 1])) end--;
  return text.slice(start, end);
}

const SEPARATORS = ["/", "?", "#"];

// Mirrors domains.py's _extract_host: every part that is cut must itself be well formed.
function extractHost(text) {
  let rest = text.includes("://") ? text.replace(SCHEME, "") : text;
  if (rest.startsWith("//")) rest = rest.slice(2);
  for (const sep of SEPARATORS) {
    const at = rest.indexOf(sep);
    if (at !== -1) rest = rest.slice(0, at);
  }
  if (rest.includes("\\")) throw invalid("The host part contains a backslash; write the host name alone.");
  rest = rest.slice(rest.lastIndexOf("@") + 1);
  if (rest.includes("%")) {
    throw invalid("The host contains percent-encoding (%); write the host name itself, not an encoded form.");
  }
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end === -1) throw invalid("An IPv6 address in brackets is missing its closing ']'.");
    const host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (!host) throw invalid("The brackets hold nothing; they are for an IPv6 address.");
    if (host.includes("[") || !host.includes(":")) {
      throw invalid(`Brackets may only hold an IPv6 address, not ${pyRepr(host)}.`);
    }
    if (after && !after.startsWith(":")) {
      throw invalid("Unexpected text after the bracketed IPv6 address; only ':port' may follow.");
    }
    if (after) checkPort(after.slice(1));
    return host;
  }
  if (rest.includes("[") || rest.includes("]")) {
    throw invalid("A bracket outside an IPv6 address in brackets ([2001:db8::1]).");
  }
  const colon = rest.indexOf(":");
  if (colon !== -1 && rest.indexOf(":", colon + 1) === -1) {
    checkPort(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  return rest;
}

/** A port after ':' must be a number from 1 to 65535 (domains.py's _check_port). */
function checkPort(port) {
  if (!port) {
    throw invalid("Nothing follows the ':' where the port should be; give a port from 1 to 65535 "
      + "or leave out the ':'.");
  }
  if (!/^[0-9]+$/.test(port)) throw invalid(`The port ${pyRepr(port.slice(0, 20))} is not a number (ports are 1 to 65535).`);
  const number = Number(port);
  if (!(number > 0 && number < 65536)) throw invalid(`The port ${port.slice(0, 20)} is out of range; ports are 1 to 65535.`);
}

export function pyRepr(text) {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replaceAll("'", "\\'")}'`;
}

/** The hostname in ASCII, lowercase: the server's _to_ascii (Python idna, UTS 46 then IDNA 2008). */
function toAscii(host, rules) {
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
    checkIdnaLabel(label, rules);
  }
  return mapped;
}

function checkIdnaLabel(label, rules) {
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
  if (/^\p{M}/u.test(unicode)) {
    throw invalid("Not a valid internationalised domain name: it starts with a combining mark.");
  }
  const points = Array.from(unicode);
  points.forEach((char, position) => {
    const cp = char.codePointAt(0);
    if (inRanges(rules.idna.pvalid, cp)) return;
    if (inRanges(rules.idna.contextj, cp)) return; // the URL parser checked joiners (CheckJoiners)
    if (inRanges(rules.idna.contexto, cp) && validContextO(points, position)) return;
    const hex = cp.toString(16).toUpperCase().padStart(4, "0");
    throw invalid(`Not a valid internationalised domain name: Codepoint U+${hex} not allowed`);
  });
  checkBidi(points.map((char) => direction(char.codePointAt(0), rules)));
}

function direction(cp, rules) {
  for (const [name, flat] of rules.idna.bidi) if (inRanges(flat, cp)) return name;
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
export function parseIp(text) {
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
export function formatIp(version, value, scope) {
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

export function parseCidr(cidr) {
  const [address, bits] = cidr.split("/");
  const parsed = parseIp(address);
  if (parsed === null || !/^[0-9]{1,3}$/.test(bits)) {
    throw new Error(`caseflag index: ${JSON.stringify(cidr)} is not a network`);
  }
  const width = parsed[0] === 4 ? 32n : 128n;
  const size = width - BigInt(bits);
  return { version: parsed[0], start: (parsed[1] >> size) << size, end: ((parsed[1] >> size) << size) + (1n << size) };
}

function inNetworks(networks, value) {
  return networks.some((net) => value >= net.start && value < net.end);
}

// --- the parse -----------------------------------------------------------------------------------------

// The dot positions of the name fastParse reads (at most 126 in a name of 253 characters): reused, never shared.
const DOTS = new Int32Array(128);

/**
 * parse() for the input a browser hands over, a normalised host name: two or more labels of lowercase
 * ASCII letters, digits and inner hyphens, each of 1 to 63 characters, 253 characters at most, not ending
 * in a digit (so never an IP address) or a dot, no label with "--" in its 3rd and 4th places (so no
 * A-label), under no special-use name, with a public suffix and a label before it. For such text every
 * step of parse() leaves the text as it is (nothing to strip, cut or map; ASCII lowercases to itself;
 * checkLabels passes), so the answer is the same; the one scan and the suffix walk here make no
 * string but the labels looked up and the registrable domain. Anything else is null: parse() reads it.
 */
function fastParse(text, rules) {
  const length = text.length;
  if (length === 0 || length > MAX_NAME_LENGTH) return null;
  let dots = 0;
  let start = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) continue;
    if (c === 45) {
      // a leading hyphen, or "--" in the 3rd and 4th places ("xn--")
      if (i === start || (i === start + 3 && text.charCodeAt(i - 1) === 45)) return null;
    } else if (c === 46) {
      if (i === start || i - start > MAX_LABEL_LENGTH || text.charCodeAt(i - 1) === 45) return null;
      DOTS[dots++] = i;
      start = i + 1;
    } else {
      return null;
    }
  }
  const last = text.charCodeAt(length - 1);
  if (dots === 0 || start === length || length - start > MAX_LABEL_LENGTH || last === 45
      || (last >= 48 && last <= 57)) {
    return null;
  }
  const count = dots + 1;
  // SuffixTrie.suffixLength, with the dots already known and no label cut out of the name.
  const root = rules.suffixes.root;
  if (root.wild) return null; // never in the list; parse() walks such a trie
  let node = childAt(root, text, start, length);
  if (node === undefined) return null; // no rule for the last label: parse() says what that means
  const special = rules.specialUseByTop.get(node);
  if (special !== undefined) {
    for (let i = 0; i < special.length; i++) {
      if (text.endsWith(special[i][1]) || text === special[i][0]) return null;
    }
  }
  let depth = 1;
  let suffix = node.end ? 1 : 0;
  let end = start - 1;
  for (let k = dots - 2; k >= -1; k--) {
    if (node.children.size === 0) break;
    const dot = k >= 0 ? DOTS[k] : -1;
    let next;
    if (node.wild) {
      const label = text.slice(dot + 1, end);
      next = node.children.get(label);
      if (next === undefined) {
        suffix = node.children.has("!" + label) ? depth : depth + 1;
        break;
      }
    } else {
      next = childAt(node, text, dot + 1, end);
    }
    if (next === undefined) break;
    depth += 1;
    node = next;
    if (node.end) suffix = depth;
    end = dot;
  }
  if (suffix === 0 || suffix >= count) return null;
  const registrable = suffix + 1 === count ? text : text.slice(DOTS[dots - suffix - 1] + 1);
  return { name: text, registrable, parents: count - suffix - 1, isIp: false, neverResolved: false, plain: true };
}

/**
 * Parses text as the server does: { name, registrable, isIp } or a thrown Refused. Names under a
 * never-resolved suffix (.onion) come back with neverResolved set; the caller refuses them unless listed.
 */
function parse(text, rules) {
  if (typeof text !== "string") throw invalid("A domain must be given as a string.");
  text = pyStrip(text);
  if (!text) throw invalid("The domain is empty.");
  // Python counts code points, JavaScript UTF-16 units: count again only when it could matter.
  if (text.length > MAX_INPUT_LENGTH && Array.from(text).length > MAX_INPUT_LENGTH) {
    throw invalid(`The input is longer than ${MAX_INPUT_LENGTH} characters.`);
  }
  if (CONTROL.test(text)) throw invalid("The domain contains spaces or control characters.");
  let host = extractHost(text);
  if (host.includes(":")) {
    const ip = publicIp(host, rules);
    if (ip === null) throw invalid(`${pyRepr(host)} is neither a host name nor an IP address.`);
    return ip;
  }
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (!host) throw invalid("The domain is empty.");
  const ip = publicIp(host, rules);
  if (ip !== null) return ip;

  const name = toAscii(host, rules);
  if (name.length > MAX_NAME_LENGTH) throw invalid(`The name is longer than ${MAX_NAME_LENGTH} characters.`);
  const count = checkLabels(name);
  if (count < 2) throw notPublic(`${pyRepr(name)} is a single label, not a public Internet name.`);
  const special = specialUseSuffix(name, rules);
  const neverResolved = special !== null && rules.neverResolved.has(special);
  if (special !== null && !neverResolved) {
    throw notPublic(`${pyRepr(name)} is under .${special}, a special-use name that is never a public Internet site.`);
  }
  const suffix = rules.suffixes.suffixLength(name);
  if (suffix === 0) throw notPublic(`${pyRepr(name)} does not end in a public suffix (like .com or .co.uk).`);
  if (suffix === count) throw notPublic(`${pyRepr(name)} is itself a public suffix; no one can register it as a site.`);
  let start = name.length;
  for (let i = 0; i <= suffix; i++) start = name.lastIndexOf(".", start - 1);
  return { name, registrable: start < 0 ? name : name.slice(start + 1), parents: count - suffix - 1, isIp: false,
           neverResolved, plain: false };
}

/**
 * The number of labels of a lowercase ASCII name, each checked as domains.py checks it: not empty,
 * at most 63 characters, and _LABEL (^(?!-)[a-z0-9_-]{1,63}(?<!-)$). One pass, no label strings made.
 */
function checkLabels(name) {
  let count = 0;
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 46;
    if (c === 46) {
      if (i === start) throw invalid("The name has an empty label (two dots in a row, or a leading dot).");
      if (i - start > MAX_LABEL_LENGTH) throw invalid(`A label is longer than ${MAX_LABEL_LENGTH} characters.`);
      if (name.charCodeAt(start) === 45 || name.charCodeAt(i - 1) === 45) throw badLabel(name, start);
      count += 1;
      start = i + 1;
    } else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) {
      throw badLabel(name, start);
    }
  }
  return count;
}

function badLabel(name, start) {
  const end = name.indexOf(".", start);
  const label = name.slice(start, end < 0 ? name.length : end);
  return invalid(`The label ${pyRepr(label)} has characters a host name cannot have `
                 + "(letters, digits and inner hyphens only).");
}

/** The special-use suffix a name (of two labels or more) falls under, or null: specialuse.special_use_suffix. */
function specialUseSuffix(name, rules) {
  // A dozen endsWith calls make no strings, where slicing off the last labels would make two.
  for (const [suffix, dotted] of rules.specialUse) {
    if (name.endsWith(dotted) || name === suffix) return suffix;
  }
  return null;
}

function publicIp(host, rules) {
  // An IPv6 address has a colon, an IPv4 one ends in a digit: most host names are neither.
  const last = host.charCodeAt(host.length - 1);
  if (!(last >= 48 && last <= 57) && !host.includes(":")) return null;
  const parsed = parseIp(host);
  if (parsed === null) return null;
  const [version, value, scope] = parsed;
  if (inNetworks(rules.notGlobal[version], value)) {
    throw notPublic(`${formatIp(version, value, "")} is a private, loopback, link-local or reserved address, `
                    + "not a public one.");
  }
  return { name: formatIp(version, value, scope), registrable: null, parents: 0, isIp: true, neverResolved: false,
           plain: false };
}

/** The display form of an ASCII name: its punycode labels decoded, or the name as it is when one is not valid IDNA. */
function toUnicode(name, rules) {
  if (!name.includes("xn--")) return name;
  try {
    return name
      .split(".")
      .map((label) => {
        checkIdnaLabel(label, rules);
        return label.startsWith("xn--") ? punycodeDecode(label.slice(4)) : label;
      })
      .join(".");
  } catch (err) {
    if (err instanceof Refused) return name;
    throw err;
  }
}
