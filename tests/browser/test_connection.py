"""The optional connection permission in Chromium: with it, the built-in list finds who serves a
site from the address the browser connected to and the CDN headers of the response.

These run in the copy of the extension in which the permission is granted at install
(conftest.granted_copy): Playwright cannot answer the browser's permission prompt. Its list adds a
test provider, Loopback Test Hosting ("LB"), whose range 127.0.0.0/8 holds every test site's address.
"""

from __future__ import annotations

import pytest

from .conftest import ONION_HOST, TEST_PROVIDER, ExtensionBrowser, granted_copy

pytestmark = pytest.mark.browser

AMBER = [0xF9, 0xA8, 0x25, 255]


@pytest.fixture
def granted(browser_granted):
    browser_granted.reset()
    yield browser_granted
    browser_granted.close_pages()


def stored_connections(browser) -> dict:
    return browser.worker.evaluate(
        """async () => Object.fromEntries(Object.entries(await chrome.storage.session.get(null))
             .filter(([key]) => key.startsWith("conn:")))"""
    )


def test_a_site_in_a_provider_range_gets_its_label(granted):
    """plain-site.org, reached at 127.0.0.1, is in the test provider's range: amber "LB", and the
    popup shows the ip_range evidence."""
    _, tab, _ = granted.visit("plain-site.org")
    state = granted.wait_checked(tab, "plain-site.org",
                                 title=granted.message("titleInfrastructure", "plain-site.org", TEST_PROVIDER["name"]))
    assert (state["text"], state["color"]) == ("LB", AMBER)

    popup = granted.popup(tab)
    assert popup.locator("#verdict-title").inner_text() == granted.message("verdictTitle_infrastructure")
    providers = popup.locator("#infra-providers").inner_text()
    assert "Served by Loopback Test Hosting: 127.0.0.1 is in 127.0.0.0/8" in providers
    assert popup.locator("#infra-hint").is_hidden()
    assert popup.locator("#source").inner_text().startswith("Answered by the built-in list")


def test_only_the_hostname_address_and_cdn_headers_are_kept(granted):
    """Per tab, storage.session holds the hostname, the address and the provider headers: no URL."""
    _, tab, _ = granted.visit("www.cf-shop.com", "/basket?id=s3cr3t")
    granted.wait_checked(tab, "www.cf-shop.com",
                         title=granted.message("titleInfrastructure", "www.cf-shop.com", "Cloudflare"))
    connections = stored_connections(granted)
    assert connections[f"conn:{tab}"] == {
        "hostname": "www.cf-shop.com", "ip": "127.0.0.1",
        "headers": {"cf-ray": "8c1f2e3d4a5b6c7d-FRA", "server": "cloudflare"},
    }
    assert "s3cr3t" not in str(connections) and "basket" not in str(connections)


def test_cdn_headers_name_the_provider(granted):
    """www.cf-shop.com answers with server: cloudflare and cf-ray: the "CF" badge, header evidence."""
    _, tab, _ = granted.visit("www.cf-shop.com")
    state = granted.wait_checked(tab, "www.cf-shop.com",
                                 title=granted.message("titleInfrastructure", "www.cf-shop.com", "Cloudflare"))
    assert (state["text"], state["color"]) == ("CF", AMBER)
    popup = granted.popup(tab)
    providers = popup.locator("#infra-providers").inner_text()
    assert ("Served by Cloudflare: response header cf-ray: 8c1f2e3d4a5b6c7d-FRA; "
            "response header server: cloudflare") in providers
    assert "Loopback Test Hosting" in providers


def test_a_target_stays_a_target(granted):
    """The connection adds evidence, never lowers a verdict: thepiratebay.org is still red."""
    _, tab, _ = granted.visit("thepiratebay.org")
    assert granted.action(tab)["text"] == "!"
    popup = granted.popup(tab)
    assert "127.0.0.1 is in 127.0.0.0/8" in popup.locator("#infra-providers").inner_text()


def test_the_connection_is_forgotten_with_the_tab(granted):
    """Closing the tab drops its connection record."""
    page, tab, _ = granted.visit("plain-site.org")
    assert f"conn:{tab}" in stored_connections(granted)
    page.close()
    granted.worker.evaluate("() => new Promise((resolve) => setTimeout(resolve, 300))")
    assert f"conn:{tab}" not in stored_connections(granted)


def test_settings_show_the_permission_as_granted(granted):
    """The settings' checkbox reflects the granted permission."""
    page = granted.context.new_page()
    page.goto(granted.extension_url("options/options.html"))
    page.wait_for_function("() => document.getElementById('list-info').textContent !== ''")
    assert page.locator("#connection").is_checked()


def test_a_listed_onion_address_is_matched_here_and_never_sent(browser_granted, fake_server):
    """Server mode: an .onion name goes to no server, yet the built-in list knows it (red "!"), and
    the popup says onion names are never looked up."""
    browser_granted.reset(fake_server.url)
    _, tab, state = browser_granted.visit(ONION_HOST)
    assert state["text"] == "!"
    assert fake_server.targets("/api/v1/check") == []
    popup = browser_granted.popup(tab)
    assert popup.locator("#infra-status").inner_text() == browser_granted.message("infraNeverResolved")
    assert popup.locator("#source").inner_text().startswith("Answered by the built-in list")
    browser_granted.close_pages()


def test_allowing_it_in_the_settings_works_from_the_next_start(playwright_instance, page_server, tmp_path):
    """The real path: the settings' checkbox asks for webRequest (granted without a prompt, since the
    host access of this copy is already required), and from the browser's next start the worker
    adds its listener at the top level and the badge shows the provider. (Chromium 156 delivers no
    webRequest events for a permission granted while it runs, so the same session is not asserted.)"""
    extension = granted_copy(tmp_path / "extension", connection="optional")
    browser = ExtensionBrowser(playwright_instance, "en", page_server, extension)
    try:
        assert browser.worker.evaluate("() => typeof chrome.webRequest") == "undefined"
        options = browser.context.new_page()
        options.goto(browser.extension_url("options/options.html"))
        options.wait_for_function("() => document.getElementById('list-info').textContent !== ''")
        assert not options.locator("#connection").is_checked()
        options.locator("#connection").click()
        options.wait_for_function("() => !document.getElementById('connection-status').hidden")
        assert options.locator("#connection-status").inner_text() == browser.message("optionsConnectionOn")
        assert options.locator("#connection").is_checked()
        assert "webRequest" in browser.worker.evaluate("async () => (await chrome.permissions.getAll()).permissions")
        profile = browser.close(keep_profile=True)
    except BaseException:
        browser.close()
        raise
    browser = ExtensionBrowser(playwright_instance, "en", page_server, extension, profile=profile)
    try:
        # The next start: the worker runs with webRequest at its top level before the first page.
        browser.wake_worker()
        assert browser.worker.evaluate("() => typeof chrome.webRequest") == "object"
        _, tab, _ = browser.visit("plain-site.org")
        state = browser.wait_checked(tab, "plain-site.org", title=browser.message(
            "titleInfrastructure", "plain-site.org", TEST_PROVIDER["name"]))
        assert (state["text"], state["color"]) == ("LB", AMBER)
    finally:
        browser.close()
