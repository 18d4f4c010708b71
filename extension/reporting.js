/**
 * A piece of reporting as every page shows it (the popup, the list page): the publisher as a link
 * when the source has an address, plain text when it has none; its date, language and kind in the
 * reader's language; its title. Also the catalogue's word for a value the data names (role, kind).
 */

import { isHttpUrl } from "./api.js";
import { formatDate, languageName } from "./format.js";

const text = (value) => (typeof value === "string" ? value : typeof value === "number" ? String(value) : "");

/** The catalogue's word for a known value (a role, kind or status); the value itself otherwise. */
export function term(prefix, value) {
  const raw = text(value);
  if (!raw) return "";
  return chrome.i18n.getMessage(prefix + raw.replace(/[^A-Za-z0-9_]/g, "_")) || raw.replace(/_/g, " ");
}

/** Fills a source template's node (.source-link, .source-publisher, .source-meta, .source-title). */
export function fillSource(node, source) {
  const publisher = text(source.publisher) || text(source.title);
  const link = node.querySelector(".source-link");
  const plain = node.querySelector(".source-publisher");
  if (isHttpUrl(source.url)) {
    link.href = source.url;
    link.textContent = publisher || new URL(source.url).hostname;
    link.hidden = false;
    plain.remove();
  } else {
    plain.textContent = publisher;
    plain.hidden = false;
    link.remove();
  }
  const kind = source.kind && source.kind !== "news" ? term("sourceKind_", source.kind) : "";
  node.querySelector(".source-meta").textContent = [formatDate(text(source.date)), languageName(source.language), kind]
    .filter(Boolean)
    .join(" · ");
  node.querySelector(".source-title").textContent = source.publisher && source.title ? text(source.title) : "";
  return node;
}
