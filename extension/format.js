/**
 * Dates and language names in the extension's own language (see uiLanguage), one date style for
 * every page: a full date as the locale writes it in medium length, a month or a year alone when
 * that is all the record knows.
 */

import { uiLanguage } from "./common.js";

const LANG = uiLanguage();

/** "2009-04-17", "2009-04", "2009" or a timestamp -> "Apr 17, 2009" / "17.04.2009"; else the input. */
export function formatDate(value) {
  const raw = typeof value === "string" ? value : "";
  const parts = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(raw);
  let date;
  let style;
  if (parts) {
    const [, year, month, day] = parts;
    date = new Date(Date.UTC(Number(year), month ? Number(month) - 1 : 0, day ? Number(day) : 1));
    style = day ? { dateStyle: "medium" } : month ? { year: "numeric", month: "long" } : { year: "numeric" };
    style.timeZone = "UTC";
  } else {
    // A timestamp (a server's checked_at): the day it was in the reader's time zone.
    date = new Date(raw);
    if (!raw || Number.isNaN(date.getTime())) return raw;
    style = { dateStyle: "medium" };
  }
  try {
    return new Intl.DateTimeFormat(LANG, style).format(date);
  } catch {
    return raw;
  }
}

/** A day given as milliseconds since the epoch, in the same style. */
export function formatDay(ms) {
  return new Intl.DateTimeFormat(LANG, { dateStyle: "medium" }).format(new Date(ms));
}

/** "sv" -> "Swedish" / "Schwedisch"; the code itself when the browser cannot name it. */
export function languageName(code) {
  const raw = typeof code === "string" ? code : "";
  if (!raw) return "";
  try {
    return new Intl.DisplayNames([LANG], { type: "language" }).of(raw) || raw;
  } catch {
    return raw;
  }
}

export { LANG };
