"""The unpacked extension installs in real Firefox ESR as a temporary add-on, without errors."""

from __future__ import annotations

import pytest

from .harness import EXTENSION_ID, MANIFEST, extension_errors

pytestmark = pytest.mark.firefox


def test_installs_as_a_temporary_add_on_without_errors(fresh_firefox):
    """Addons.install(temp=True) gives the manifest's id; the add-on is active and temporary, its
    background script runs, and neither the manifest nor the extension's files logged an error."""
    browser = fresh_firefox
    assert browser.addon_id == EXTENSION_ID
    addon = browser.chrome_async(
        """const { AddonManager } = ChromeUtils.importESModule("resource://gre/modules/AddonManager.sys.mjs");
           const addon = await AddonManager.getAddonByID(args[0]);
           return addon && { active: addon.isActive, temporary: addon.temporarilyInstalled,
                             version: addon.version, type: addon.type, name: addon.name };""",
        EXTENSION_ID,
    )
    assert addon == {"active": True, "temporary": True, "version": MANIFEST["version"], "type": "extension",
                     "name": addon["name"]}
    assert addon["name"] and not addon["name"].startswith("__MSG_"), addon
    # The background script is up: it answers the popup's message for a tab it does not know.
    view = browser.ext('return await browser.runtime.sendMessage({ type: "getTabView", tabId: 0 });')
    assert view["ok"] is True, view
    assert extension_errors(browser.console_messages()) == []


def test_only_the_manifests_host_permissions_are_granted_at_install(firefox):
    """Firefox grants an MV3 add-on's host_permissions at install, and none of the optional ones
    (any http/https host) until they are asked for."""
    assert sorted(firefox.origins_granted()) == sorted(MANIFEST.get("host_permissions", []))
    assert firefox.ext('return await browser.permissions.contains({ origins: ["https://*/*"] });') is False
    assert firefox.ext('return await browser.permissions.contains({ origins: ["http://*/*"] });') is False


def test_a_fresh_install_asks_no_consent_to_send_data(fresh_firefox):
    """Out of the box nothing leaves the browser, so the manifest's data-collection consent asks
    for none; sending the sites visited to a server is optional, asked for in the settings."""
    consent = MANIFEST["browser_specific_settings"]["gecko"]["data_collection_permissions"]
    assert consent == {"required": ["none"], "optional": ["browsingActivity"]}
    granted = fresh_firefox.ext("return (await browser.permissions.getAll()).data_collection;")
    assert granted == []
