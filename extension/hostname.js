/**
 * The host name the browser hands over (its URL parser has lowercased, mapped and punycoded it), read as
 * the server reads it: only what the browser does not do is here (the server's label rules, IP literals
 * that are not public, special-use names, the public suffix walk). A refusal is a catalogue code and params.
 */
import { decode, encode } from "./lib/punycode/punycode.js";

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
const NAME = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/; // LABEL.LABEL…, no lookaround: ⅓ cheaper
const IPV4 = /^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$/;

export class Refused extends Error { // the API's error code and status; the catalogue's message code and params
  constructor(code, status, key, params = {}) { super(key); Object.assign(this, { code, status, key, params }); }
}
const invalid = (key, params) => new Refused("invalid_domain", 400, key, params);
const notPublic = (key, params) => new Refused("not_public", 422, key, params);

export class HostRules {
  constructor(index) {
    this.trie = { shapes: new Map(), end: false };
    for (const rule of [...index.public_suffixes.icann, ...index.public_suffixes.private]) {
      let node = this.trie;
      for (const label of rule.split(".").reverse()) {
        const key = shape(label, 0, label.length), labels = node.shapes.get(key) ?? node.shapes.set(key, []).get(key);
        node = child(node, label) ?? labels[labels.push(label, { shapes: new Map(), end: false }) - 1];
      }
      node.end = true;
    }
    this.special = new Map(Object.entries(index.special_use.suffixes));
    const names = [...this.special.keys()].map((name) => name.replaceAll(".", "\\."));
    this.specialEnd = new RegExp(`(?:^|\\.)(${names.join("|")})$`); // a special-use suffix ending the name
    this.neverResolved = new Set(index.special_use.never_resolved);
    this.notGlobal = [...index.not_global.ipv4, ...index.not_global.ipv6].map(parseCidr);
  }

  /** { name, registrable, isIp, neverResolved } of a host name or URL; throws Refused. */
  parse(text) {
    const plain = typeof text === "string" && text.length <= 253 && NAME.test(text); // most hosts: all checked at once
    let host = plain ? text : browserHost(text);
    if (host.endsWith(".")) host = host.slice(0, -1);
    if (!host) throw invalid("error.empty");
    const ip = IPV4.test(host) || host.includes(":") ? ipValue(host) : null;
    if (ip === null && host.includes(":")) throw invalid("error.neither", { name: host });
    if (ip !== null && this.notGlobal.some((n) => n.version === ip.version && ip.value >= n.start && ip.value < n.end)) {
      throw notPublic("error.not_global_ip", { name: host });
    }
    if (ip !== null) return { name: host, registrable: null, isIp: true, neverResolved: false };
    if (host.length > 253) throw invalid("error.name_too_long", { limit: 253 });
    const bad = plain ? undefined : host.split(".").find((label) => !LABEL.test(label));
    if (bad === "") throw invalid("error.empty_label");
    if (bad?.length > 63) throw invalid("error.label_too_long", { label: bad.slice(0, 20), limit: 63 });
    if (bad !== undefined) throw invalid("error.label_chars", { label: bad });
    const last = host.lastIndexOf(".");
    const special = this.specialEnd.exec(host)?.[1] ?? null;
    const neverResolved = this.neverResolved.has(special);
    if (special !== null && !neverResolved) {
      throw notPublic(`error.special_use${special === host ? "_itself" : ""}`, { name: host, suffix: special, kind: this.special.get(special) });
    }
    if (last === -1) throw notPublic("error.single_label", { name: host });
    const at = neverResolved ? last + 1 : this.suffixStart(host); // where the public suffix starts
    if (at > host.length) throw notPublic("error.no_suffix", { name: host });
    if (at === 0) throw notPublic("error.is_suffix", { name: host });
    return { name: host, registrable: host.slice(host.lastIndexOf(".", at - 2) + 1), isIp: false, neverResolved };
  }

  /** Where the public suffix starts in the name (past its end: none): tldextract's walk, with wildcards and
   * exceptions, label by label from the right. */
  suffixStart(host) {
    let node = this.trie, end = host.length, found = end + 1;
    for (;;) {
      const dot = host.lastIndexOf(".", end - 1);
      const next = child(node, host, dot + 1, end);
      if (next === undefined) {
        return child(node, "*") ? (child(node, `!${host.slice(dot + 1, end)}`) ? end + 1 : dot + 1) : found;
      }
      if (next.end) found = dot + 1;
      if (dot === -1) return found;
      node = next;
      end = dot;
    }
  }
}

// Speed (P5): the suffix trie's children are found by their label's shape (length, first and last character) and
// compared in place, so the walk cuts no label out of the host name and hashes none; without it P5 missed ≤ 5.
const shape = (text, start, end) => ((end - start) << 16) | ((text.charCodeAt(start) & 0xff) << 8) | (text.charCodeAt(end - 1) & 0xff);
function child(node, text, start = 0, end = text.length) {
  const labels = node.shapes.get(shape(text, start, end));
  for (let i = 0; labels !== undefined && i < labels.length; i += 2) {
    if (labels[i].length === end - start && text.startsWith(labels[i], start)) return labels[i + 1];
  }
  return undefined;
}

/** The browser's own reading of anything but a plain host name: new URL(…).hostname. */
function browserHost(text) {
  const bare = typeof text === "string" ? text.trim() : "";
  if (!bare) throw invalid("error.empty");
  const urls = /^[a-z][a-z0-9+.-]*:\/\//i.test(bare) ? [bare] : [`http://${bare}`, `http://[${bare}]`];
  const host = urls.map((url) => URL.parse(url)?.hostname).find(Boolean);
  if (host === undefined) throw invalid("error.not_a_host", { name: bare.slice(0, 100) });
  return host.replace(/^\[|\]$/g, "");
}

/** { version, value (BigInt) } of an IP address as the browser writes it, or null. */
export function ipValue(text) {
  if (IPV4.test(text)) {
    const parts = text.split(".");
    if (parts.some((part) => Number(part) > 255 || String(Number(part)) !== part)) return null;
    return { version: 4, value: parts.reduce((sum, part) => sum * 256n + BigInt(part), 0n) };
  }
  const halves = text.split("::"); // as the browser writes it: hex groups only, never a dotted IPv4 tail
  const groups = halves.map((half) => (half ? half.split(":") : []));
  const missing = 8 - groups.flat().length;
  if (halves.length > 2 || (halves.length === 1 ? missing !== 0 : missing < 1)) return null;
  const all = halves.length === 1 ? groups[0] : [...groups[0], ...Array(missing).fill("0"), ...groups[1]];
  if (!all.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return null;
  return { version: 6, value: all.reduce((sum, group) => sum * 65536n + BigInt(`0x${group}`), 0n) };
}

/** { version, start, end (exclusive), cidr } of a network such as 104.16.0.0/13; throws if unreadable. */
export function parseCidr(cidr) {
  const [address, bits] = String(cidr).split("/");
  const ip = ipValue(address);
  const width = ip?.version === 4 ? 32 : 128;
  if (ip === null || !/^[0-9]{1,3}$/.test(bits) || Number(bits) > width) throw new Error(`not a network: ${cidr}`);
  return { version: ip.version, start: ip.value, end: ip.value + (1n << BigInt(width - Number(bits))), cidr };
}

/** The name for display, punycode labels decoded (punycode.js), or as it is when one does not decode to a
 * text beyond ASCII that encodes back to the label: the server's rule (domains._display_name). */
export function toUnicode(name) {
  if (!name.includes("xn--")) return name;
  const labels = name.split(".").map((label) => {
    try {
      const text = label.startsWith("xn--") ? decode(label.slice(4)) : label;
      return text === label || (/[^\0-\x7f]/.test(text) && `xn--${encode(text)}` === label) ? text : null;
    } catch {
      return null;
    }
  });
  return labels.includes(null) ? name : labels.join(".");
}
