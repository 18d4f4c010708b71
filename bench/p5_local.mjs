// P5's node side: load an index as the extension's worker would (read, JSON.parse, prepareIndex), then time
// localCheck per navigation against a bare Map.get over the same domains. Prints one JSON line.
//
//   node bench/p5_local.mjs INDEX.json [--rounds 5]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { localCheck, prepareIndex } from "../extension/local.js";

const path = process.argv[2];
const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 5;

const started = performance.now();
const text = readFileSync(path, "utf-8");
const read = performance.now();
const json = JSON.parse(text);
const parsed = performance.now();
const index = prepareIndex(json);
const prepared = performance.now();

// Navigations: a third listed registrable domains, a third www. subdomains of them, a third unlisted names,
// each with its own registrable domain under one of eight suffixes (site-N.shop-N.com, .co.uk, .github.io…).
const domains = [];
for (const entity of json.entities) domains.push(...entity.domains);
const UNLISTED_SUFFIXES = ["com", "de", "co.uk", "org", "net", "com.au", "github.io", "fr"];
function navigation(i) {
  const listed = domains[(i * 7919) % domains.length];
  if (i % 3 === 0) return listed;
  if (i % 3 === 1) return `www.${listed}`;
  return `site-${i}.shop-${i}.${UNLISTED_SUFFIXES[Math.floor(i / 3) % UNLISTED_SUFFIXES.length]}`;
}
// Cold: 30,000 different names, each new to the answer cache. Typical: 30,000 navigations over 3,000
// sites with a Zipf (s = 1) popularity, as a browser revisits the same sites; the same third each.
const cold = Array.from({ length: 30_000 }, (_, i) => navigation(i));
const pool = Array.from({ length: 3_000 }, (_, i) => navigation(i + 100_000));
const weights = pool.map((_, rank) => 1 / (rank + 1));
const total = weights.reduce((a, b) => a + b, 0);
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const typical = Array.from({ length: 30_000 }, () => {
  let pick = random() * total;
  let rank = 0;
  while (pick > weights[rank] && rank < pool.length - 1) pick -= weights[rank++];
  return pool[rank];
});
// A browser hands over a new string each navigation: every timed pass, of either side, gets its own copy of
// the names, decoded from UTF-8 (flat strings, equal to the index's keys but never the same objects, no
// hash computed yet), so neither side gets an identity hit or a hash cached by an earlier pass.
const encoder = new TextEncoder();
const decoder = new TextDecoder();
function fresh(names) {
  const copies = new Array(names.length);
  for (let i = 0; i < names.length; i++) copies[i] = decoder.decode(encoder.encode(names[i]));
  return copies;
}
// The baseline: the bare lookup, a Map from every domain to its entity, asked with the same names.
const bare = new Map();
for (const entity of json.entities) for (const domain of entity.domains) bare.set(domain, entity);

function nsPer(names, fn) {
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < names.length; i++) sink += fn(names[i]) ? 1 : 0;
  const ns = ((performance.now() - t0) * 1e6) / names.length;
  if (sink < 0) console.log(sink);
  return ns;
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function compare(names) {
  nsPer(fresh(names), (name) => bare.get(name)); // warm both sides
  nsPer(fresh(names), (name) => localCheck(name, index));
  const map = [], check = [];
  for (let round = 0; round < rounds; round++) { // alternating, so drift on a shared machine hits both alike
    map.push(nsPer(fresh(names), (name) => bare.get(name)));
    check.push(nsPer(fresh(names), (name) => localCheck(name, index)));
  }
  return { map_get_ns: median(map), local_check_ns: median(check) };
}

const levels = {};
for (const name of cold.slice(0, 3000)) {
  const answer = localCheck(name, index);
  levels[answer.verdict.level] = (levels[answer.verdict.level] || 0) + 1;
}
const byKind = {};
for (const [kind, offset] of [["listed", 0], ["www", 1], ["unlisted", 2]]) {
  byKind[kind] = compare(cold.filter((_, i) => i % 3 === offset));
}
process.stdout.write(JSON.stringify({
  domains: index.listed,
  bytes: Buffer.byteLength(text, "utf-8"),
  load_ms: { read: read - started, parse: parsed - read, prepare: prepared - parsed, total: prepared - started },
  cold: compare(cold),
  typical: compare(typical),
  by_kind: byKind,
  levels,
  node: process.version,
}) + "\n");
