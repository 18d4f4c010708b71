/**
 * The host name the browser hands over, read as the server reads it: the browser's URL parser has
 * already lowercased, mapped and punycoded it, so only what the browser does not do is left here:
 * the server's label rules, IP literals that are not public, special-use names, and the public
 * suffix walk (tldextract's, over the index's rules). Every refusal is a catalogue code and params.
 */

import { decode, encode } from "./lib/punycode/punycode.js";

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
const PLAIN = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+$/; // what a browser hands over for most sites
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;
const IPV4 = /^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$/;
const END = "";

/** A refused input: the API's error code and status, and the catalogue's message code and params. */
export class Refused extends Error {
  constructor(code, status, key, params = {}) {
    super(key);
    this.code = code;
    this.status = status;
    this.key = key;
    this.params = params;
  }
}

const invalid = (key, params) => new Refused("invalid_domain", 400, key, params);
const notPublic = (key, params) => new Refused("not_public", 422, key, params);

export class HostRules {
  constructor(index) {
    this.trie = new Map();
    for (const rule of [...index.public_suffixes.icann, ...index.public_suffixes.private]) {
      let node = this.trie;
      for (const label of rule.split(".").reverse()) {
        if (!node.has(label)) node.set(label, new Map());
        node = node.get(label);
      }
      node.set(END, true);
    }
    this.special = new Map(Object.entries(index.special_use.suffixes));
    this.neverResolved = new Set(index.special_use.never_resolved);
    this.notGlobal = [...index.not_global.ipv4, ...index.not_global.ipv6].map(parseCidr);
  }

  /** { name, registrable, isIp, neverResolved, parents } for a host name or URL; throws Refused. */
  parse(text) {
    let host = typeof text === "string" && PLAIN.test(text) ? text : browserHost(text);
    if (host.endsWith(".")) host = host.slice(0, -1);
    if (!host) throw invalid("error.empty");
    const ip = ipHost(host, this.notGlobal);
    if (ip !== null) return { name: ip, registrable: null, isIp: true, neverResolved: false, parents: 0 };
    checkLabels(host);
    const labels = host.split(".");
    const tld = labels[labels.length - 1];
    const lastTwo = labels.slice(-2).join(".");
    const special = this.special.has(tld) ? tld : labels.length > 1 && this.special.has(lastTwo) ? lastTwo : null;
    const neverResolved = special !== null && this.neverResolved.has(special);
    if (special !== null && !neverResolved) {
      const kind = this.special.get(special);
      throw notPublic(special === host ? "error.special_use_itself" : "error.special_use",
        { name: host, suffix: special, kind });
    }
    if (labels.length === 1) throw notPublic("error.single_label", { name: host });
    const at = neverResolved ? labels.length - 1 : this.suffixIndex(labels);
    if (at === labels.length) throw notPublic("error.no_suffix", { name: host });
    if (at === 0) throw notPublic("error.is_suffix", { name: host });
    return { name: host, registrable: labels.slice(at - 1).join("."), isIp: false, neverResolved,
             parents: at - 1 };
  }

  /** Where the public suffix starts among the labels (tldextract's walk: wildcards, exceptions). */
  suffixIndex(labels) {
    let node = this.trie;
    let index = labels.length;
    let found = labels.length;
    for (let i = labels.length - 1; i >= 0; i--) {
      const child = node.get(labels[i]);
      if (child !== undefined) {
        index -= 1;
        node = child;
        if (child.has(END)) found = index;
        continue;
      }
      if (node.has("*")) found = node.has(`!${labels[i]}`) ? index : index - 1;
      break;
    }
    return found;
  }
}

/** The browser's own reading of anything else: new URL(…).hostname. */
function browserHost(text) {
  if (typeof text !== "string" || !text.trim()) throw invalid("error.empty");
  const bare = text.trim();
  const candidates = SCHEME.test(bare) ? [bare] : [`http://${bare}`, `http://[${bare}]`];
  for (const url of candidates) {
    try {
      const { hostname } = new URL(url);
      if (hostname) return hostname.replace(/^\[|\]$/g, "");
    } catch {
      // not a URL this way; the next reading, or refused below
    }
  }
  throw invalid("error.not_a_host", { name: bare.slice(0, 100) });
}

function checkLabels(name) {
  if (name.length > MAX_NAME_LENGTH) throw invalid("error.name_too_long", { limit: MAX_NAME_LENGTH });
  for (const label of name.split(".")) {
    if (!label) throw invalid("error.empty_label");
    if (label.length > MAX_LABEL_LENGTH) {
      throw invalid("error.label_too_long", { label: label.slice(0, 20), limit: MAX_LABEL_LENGTH });
    }
    if (!LABEL.test(label)) throw invalid("error.label_chars", { label });
  }
}

/** The address as the server writes it, for an IP literal (null for a name); refuses one not public. */
function ipHost(host, notGlobal) {
  const ip = IPV4.test(host) ? parseIp(host) : host.includes(":") ? parseIp(host) : null;
  if (ip === null) {
    if (host.includes(":")) throw invalid("error.neither", { name: host });
    return null;
  }
  if (notGlobal.some((net) => net.version === ip.version && ip.value >= net.start && ip.value < net.end)) {
    throw notPublic("error.not_global_ip", { name: host });
  }
  return host;
}

/** { version, value (BigInt) } of an address as the browser writes it, or null. */
export function parseIp(text) {
  if (IPV4.test(text)) {
    const parts = text.split(".").map(Number);
    if (parts.some((part, i) => part > 255 || String(part) !== text.split(".")[i])) return null;
    return { version: 4, value: parts.reduce((sum, part) => sum * 256n + BigInt(part), 0n) };
  }
  let body = text;
  const dotted = /:([0-9]+(?:\.[0-9]+){3})$/.exec(body); // an embedded IPv4 tail (::ffff:1.2.3.4)
  if (dotted) {
    const v4 = parseIp(dotted[1]);
    if (v4 === null) return null;
    body = `${body.slice(0, dotted.index + 1)}${(v4.value >> 16n).toString(16)}:${(v4.value & 0xffffn).toString(16)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const groups = halves.map((half) => (half ? half.split(":") : []));
  const missing = 8 - groups.reduce((sum, part) => sum + part.length, 0);
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const all = halves.length === 1 ? groups[0] : [...groups[0], ...Array(missing).fill("0"), ...groups[1]];
  if (!all.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return null;
  return { version: 6, value: all.reduce((sum, group) => sum * 65536n + BigInt(`0x${group}`), 0n) };
}

/** { version, start, end } (end exclusive, BigInt) of a network such as 104.16.0.0/13; throws if unreadable. */
export function parseCidr(cidr) {
  const [address, bits] = String(cidr).split("/");
  const ip = parseIp(address);
  const width = ip?.version === 4 ? 32 : 128;
  if (ip === null || !/^[0-9]{1,3}$/.test(bits) || Number(bits) > width) throw new Error(`not a network: ${cidr}`);
  const size = 1n << BigInt(width - Number(bits));
  return { version: ip.version, start: ip.value, end: ip.value + size, cidr };
}

/**
 * The name for display, each punycode label decoded (punycode.js); the ASCII name when a label does not
 * decode to a text with a letter beyond ASCII that encodes back to the label (the server's rule, domains.py).
 */
export function toUnicode(name) {
  if (!name.includes("xn--")) return name;
  const out = [];
  for (const label of name.split(".")) {
    if (!label.startsWith("xn--")) {
      out.push(label);
      continue;
    }
    try {
      const text = decode(label.slice(4));
      if (!/[^\0-\x7f]/.test(text) || `xn--${encode(text)}` !== label) return name;
      out.push(text);
    } catch {
      return name;
    }
  }
  return out.join(".");
}
