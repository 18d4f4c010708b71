/**
 * The toolbar button of each tab: its badge, icon and title for the view the worker worked out,
 * shown in order and never over a newer one.
 */

import { getTabRecord, msg } from "./common.js";
import { NO_BADGE, badgeFor, titleFor } from "./api.js";

const ICONS = {
  on: { 16: "/icons/icon-16.png", 32: "/icons/icon-32.png" },
  off: { 16: "/icons/icon-off-16.png", 32: "/icons/icon-off-32.png" },
};

// States in which caseflag is at work on the tab; any other greys the icon out.
const ACTIVE_STATES = new Set(["result", "checking", "unsupported"]);


// Toolbar updates for one tab run one after another: two checks racing (a commit and a status
// change for the same page) must not interleave their badge and title calls. Only the chain of
// pending updates lives here, never state worth keeping.
const actionUpdates = new Map();
// Two refreshes of one page may finish out of order (a commit, and the connection seen a moment
// later): the one that started later read the newer state, so an older one is never shown over it.
// Only stamps live here; losing them with the worker loses nothing, as no refresh is then running.
const shownStamps = new Map(); // tabId -> the stamp of the refresh whose view the button shows

/**
 * Shows a view worked out for the tab's page as record described it. The tab may have moved on
 * meanwhile (a commit and a status change race, or the page changed while the server was asked):
 * a view for a page the tab no longer shows is dropped, so it cannot overwrite the newer one.
 */
export function showOnAction(tabId, view, record) {
  const previous = actionUpdates.get(tabId) ?? Promise.resolve();
  const next = previous.then(async () => {
    const now = await getTabRecord(tabId);
    if ((now?.navigation ?? null) !== (record?.navigation ?? null)) return;
    const stamp = record?.stamp ?? 0;
    if (stamp < (shownStamps.get(tabId) ?? 0)) return;
    shownStamps.set(tabId, stamp);
    await applyToAction(tabId, view);
  });
  actionUpdates.set(tabId, next);
  next.finally(() => {
    if (actionUpdates.get(tabId) === next) actionUpdates.delete(tabId);
  });
  return next;
}

/** Forgets a closed tab. */
export function forgetTab(tabId) {
  shownStamps.delete(tabId);
}

async function applyToAction(tabId, view) {
  const badge = view.state === "result" ? badgeFor(view.result) : NO_BADGE;
  const calls = [
    chrome.action.setBadgeText({ tabId, text: badge.text }),
    setTabIcon(tabId, ACTIVE_STATES.has(view.state) ? "on" : "off"),
  ];
  if (badge.color) calls.push(chrome.action.setBadgeBackgroundColor({ tabId, color: badge.color }));
  if (badge.textColor && chrome.action.setBadgeTextColor) {
    calls.push(chrome.action.setBadgeTextColor({ tabId, color: badge.textColor }));
  }
  // A tab closed meanwhile makes these reject; there is nothing left to show then.
  await Promise.allSettled(calls);
  // The title goes last: once it names the verdict, the badge already shows it.
  await chrome.action.setTitle({ tabId, title: titleText(view) }).catch(() => {});
}

// setIcon with paths decodes the images on every call (10-25 ms, most of a built-in check); with
// ImageData it does not. The decoded icons are a cache of the bundled files, made again after a
// restart; where they cannot be made, the paths still work.
let iconImages = null;

async function setTabIcon(tabId, which) {
  try {
    iconImages ??= decodeIcons();
    const images = await iconImages;
    return await chrome.action.setIcon({ tabId, imageData: images[which] });
  } catch {
    return chrome.action.setIcon({ tabId, path: ICONS[which] });
  }
}

async function decodeIcons() {
  const decoded = {};
  for (const [which, paths] of Object.entries(ICONS)) {
    decoded[which] = {};
    for (const [size, path] of Object.entries(paths)) {
      const blob = await (await fetch(chrome.runtime.getURL(path))).blob();
      const bitmap = await createImageBitmap(blob);
      const canvas = new OffscreenCanvas(Number(size), Number(size));
      const context = canvas.getContext("2d");
      context.drawImage(bitmap, 0, 0, Number(size), Number(size));
      decoded[which][size] = context.getImageData(0, 0, Number(size), Number(size));
    }
  }
  return decoded;
}

function titleText(view) {
  switch (view.state) {
    case "result": {
      const [key, substitutions] = titleFor(view.result);
      return msg(key, substitutions);
    }
    case "checking":
      return msg("titleChecking", [view.hostname]);
    case "error":
      return msg(errorTitleKey(view.error), [view.hostname]);
    case "paused":
      return msg("titlePaused", [view.hostname]);
    case "disabled":
      return msg("titleDisabled");
    case "private":
      return msg("titlePrivate");
    case "local":
      return msg("titleLocal", [view.hostname]);
    default:
      return msg("extShortName");
  }
}

/** The tooltip for a site that could not be checked: by whom, and why, as it happened. */
function errorTitleKey(error) {
  if (error?.kind === "list") return "titleListUnreadable";
  if (error?.kind === "rejected") return error.builtin ? "titleRejectedLocal" : "titleRejected";
  return "titleUnknown";
}
