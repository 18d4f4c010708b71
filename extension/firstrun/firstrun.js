/**
 * The welcome page, opened once when caseflag is installed (background.js, onInstalled): what it
 * does, what each badge means, what it sends, and how to keep its button on the toolbar in the
 * browser at hand. Sends nothing.
 */

import { IS_FIREFOX, localize, msg, openExtensionPage } from "../common.js";

localize();

document.getElementById("pin-text").textContent = msg(IS_FIREFOX ? "firstrunPinFirefox" : "firstrunPinChromium");
document.getElementById("open-list").addEventListener("click", () => openExtensionPage("list/list.html"));
document.getElementById("open-options").addEventListener("click", () => chrome.runtime.openOptionsPage());
showShortcut();

/** The shortcut as the browser has it now (another extension may have taken the suggested one). */
async function showShortcut() {
  let keys = "";
  try {
    const commands = await chrome.commands.getAll();
    keys = commands.find((command) => command.name === "_execute_action")?.shortcut ?? "";
  } catch {
    keys = "";
  }
  document.getElementById("shortcut").textContent = keys
    ? msg("firstrunShortcut", [keys])
    : msg("firstrunShortcutNone");
}
