"""The first minute in Chromium: the welcome page opens once, on installation, in the browser's
language, and says how to pin the button; the keyboard shortcut is the manifest's."""

from __future__ import annotations

import json

import pytest

from .conftest import EXTENSION_DIR, FIRST_RUN_PATH, ExtensionBrowser

pytestmark = pytest.mark.browser


def test_the_welcome_page_opens_once_on_install(playwright_instance, page_server):
    """A fresh install opens exactly one welcome tab; the same profile started again opens none."""
    browser = ExtensionBrowser(playwright_instance, "en", page_server)
    try:
        assert browser.first_run_pages == [browser.extension_url(FIRST_RUN_PATH)]
        profile = browser.close(keep_profile=True)
        browser = ExtensionBrowser(playwright_instance, "en", page_server, profile=profile)
        assert browser.wait_first_run(timeout=3.0) == []
    finally:
        browser.close()


def test_the_welcome_page_in_german(browser_de, artifacts):
    """In German it explains the badges, what is sent (nothing, as installed), how to pin the button
    in Chromium, with its picture, and names the shortcut the browser gave the panel."""
    page = browser_de.context.new_page()
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(browser_de.extension_url(FIRST_RUN_PATH))
    page.wait_for_function("() => document.getElementById('shortcut').textContent !== ''")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("h1").inner_text() == "Willkommen bei caseflag"
    assert page.locator("#pin-text").inner_text() == browser_de.message("firstrunPinChromium")
    assert page.locator("#pin-picture").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#pin-picture").get_attribute("alt") == browser_de.message("firstrunPinPicture")
    assert page.locator(".badge").count() == 5
    assert browser_de.message("firstrunSendsNothing").startswith("Nichts")
    assert browser_de.message("firstrunSendsNothing") in page.locator("main").inner_text()
    shortcut = browser_de.worker.evaluate(
        "async () => (await chrome.commands.getAll()).find((c) => c.name === '_execute_action').shortcut")
    suggested = json.loads((EXTENSION_DIR / "manifest.json").read_text())["commands"]["_execute_action"]
    assert shortcut.replace(" ", "") == suggested["suggested_key"]["default"]
    assert page.locator("#shortcut").inner_text() == browser_de.message("firstrunShortcut", shortcut)
    page.screenshot(path=str(artifacts / "firstrun-de.png"), full_page=True)
    browser_de.close_pages()
