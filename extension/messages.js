/* Words a reason or a refusal from the message catalogue (server/caseflag/messages/) by the rules of messages.py:
 * `{name}` is a parameter, `{name|section}` the message `section.<value>` (`none` for a missing value, `n` for a
 * number without a key of its own, a list's items by their kind). */
/** The message `code` filled in; lookup(key) gives a catalogue text, or undefined for a missing key. */
export function renderMessage(lookup, code, params) {
  return fill(lookup(code) ?? "", params ?? {}, lookup);
}

function fill(text, params, lookup) {
  return text.replace(/\{(\w+)(?:\|(\w+))?\}/g, (_, name, section) => {
    const value = params[name];
    if (section === undefined) return value === null || value === undefined ? "" : String(value);
    if (!Array.isArray(value)) return fill(term(lookup, section, value), params, lookup);
    return value.map((item) => fill(term(lookup, section, item?.kind), { ...params, ...item }, lookup)).join("; ");
  });
}

function term(lookup, section, value) {
  const key = value === null || value === undefined ? "none"
    : typeof value === "number" && lookup(`${section}.${value}`) === undefined ? "n" : String(value);
  return lookup(`${section}.${key}`) ?? String(value);
}

/** A lookup over the browser's _locales, where caseflag.exports.locales writes the catalogue (keys `cf_…`). */
export function i18nLookup(getMessage) {
  const keys = new Set(getMessage("cf__keys").split(",")); // asked for no other: a missing key is an error in Firefox
  return (key) => (keys.has(key) ? getMessage(`cf_${key.replaceAll(".", "__")}`) : undefined);
}
