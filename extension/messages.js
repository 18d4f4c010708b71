/**
 * Words a reason or a refusal from the message catalogue (server/caseflag/messages/), by the rules of
 * server/caseflag/messages.py: `{name}` is a parameter, `{name|section}` the message `section.<value>`
 * (`none` for a missing value, `n` for a number without its own key, a list item by its kind).
 * The catalogue comes from the built-in index (local.js) or from _locales, where caseflag.locales
 * writes it under keys starting with `cf_` (i18nLookup).
 */

/** The message `code` filled in; lookup(key) gives a catalogue text, or undefined for a missing key. */
export function renderMessage(lookup, code, params) {
  return fill(lookup(code) ?? "", params ?? {}, lookup);
}

function fill(text, params, lookup) {
  return text.replace(/\{(\w+)(?:\|(\w+))?\}/g, (_, name, section) => {
    const value = params[name];
    if (section === undefined) return value === null || value === undefined ? "" : String(value);
    if (Array.isArray(value)) {
      return value.map((item) => fill(term(lookup, section, item?.kind), { ...params, ...item }, lookup)).join("; ");
    }
    return fill(term(lookup, section, value), params, lookup);
  });
}

function term(lookup, section, value) {
  let key = value === null || value === undefined ? "none" : String(value);
  if (typeof value === "number" && lookup(`${section}.${value}`) === undefined) key = "n";
  return lookup(`${section}.${key}`) ?? String(value);
}

/** A lookup over the browser's _locales (the UI's language): a key's text, or undefined when it has none. */
export function i18nLookup(getMessage) {
  const empty = new Set(getMessage("cf__empty").split(","));
  return (key) => {
    const text = getMessage(`cf_${key.replaceAll(".", "__")}`);
    return text !== "" || empty.has(key) ? text : undefined;
  };
}
