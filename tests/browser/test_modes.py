"""The two modes in Chromium: a fresh install answers from the built-in list and sends nothing
anywhere; server mode sends only ?domain=<hostname> (and asks for a newer list), and falls back to
the built-in list when the server fails."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from dnsserver import closed_port

from .conftest import ExtensionBrowser

pytestmark = pytest.mark.browser

RED = [0xC6, 0x28, 0x28, 255]
BLUE = [0x15, 0x65, 0xC0, 255]
GREY = [0x78, 0x90, 0x9C, 255]


@pytest.fixture
def fresh(playwright_instance, page_server):
    """A browser that has just installed the extension: nothing stored, nothing set."""
    browser = ExtensionBrowser(playwright_instance, "en", page_server)
    yield browser
    browser.close()


def test_a_fresh_install_answers_from_the_built_in_list(fresh):
    """Nothing is set after installing, the mode is built-in, and a target site gets the red "!"."""
    assert fresh.worker.evaluate("() => chrome.storage.local.get(null)") == {}
    _, tab, state = fresh.visit("thepiratebay.org")
    assert state["text"] == "!"
    assert state["color"] == RED
    assert state["title"] == fresh.message("titleTarget", "thepiratebay.org", "The Pirate Bay")

    popup = fresh.popup(tab)
    source = popup.locator("#source").inner_text()
    version = fresh.worker.evaluate(
        "async () => (await (await fetch(chrome.runtime.getURL('data/index.json'))).json()).version")
    assert source.startswith(f"Answered by the built-in list (version {version} of ")
    assert source.endswith("nothing was sent.")
    assert popup.locator("#fallback").is_hidden()
    assert "The Pirate Bay" in popup.locator("#verdict-text").inner_text()


def test_party_and_unknown_sites_in_built_in_mode(browser):
    """A plaintiff's site is blue "i"; a site in no list gets no badge."""
    _, _, state = browser.visit("riaa.com")
    assert (state["text"], state["color"]) == ("i", BLUE)
    assert state["title"] == browser.message(
        "titleParty", "riaa.com", "Recording Industry Association of America (RIAA)")
    _, _, state = browser.visit("plain-site.org")
    assert state["text"] == ""
    assert state["title"] == browser.message("titleNone", "plain-site.org")


def test_without_the_connection_permission_no_provider_is_claimed(browser, artifacts):
    """cf-shop.com is Cloudflare-served, but the built-in list cannot know it: no badge, and no
    "not checked" infrastructure block either (nothing that cannot apply in this mode)."""
    _, tab, state = browser.visit("cf-shop.com")
    assert state["text"] == ""
    popup = browser.popup(tab)
    assert popup.locator("#verdict-text").inner_text() == browser.message("verdictText_none")
    assert popup.locator("#infrastructure").is_hidden()
    assert popup.locator("#recheck").is_hidden()
    popup.screenshot(path=str(artifacts / "popup-builtin-en.png"), full_page=True)


def test_a_successor_of_a_target_is_related(browser, artifacts):
    """me.ga (MEGA, in no case) succeeds Megaupload (a defendant): grey "~", and the popup shows
    the chain with Megaupload's cases and their reporting."""
    _, tab, state = browser.visit("me.ga")
    assert (state["text"], state["color"]) == ("~", GREY)
    assert state["title"] == browser.message("titleRelated", "me.ga", "MEGA", "Megaupload")

    popup = browser.popup(tab)
    assert popup.locator("#verdict").get_attribute("data-level") == "related"
    assert popup.locator("#verdict-title").inner_text() == "Related to a case"
    assert popup.locator("#verdict-text").inner_text() == (
        "MEGA is in no case itself, but is related to Megaupload, which is.")
    chain = popup.locator(".chain").first
    assert chain.locator(".chain-text").inner_text().startswith(
        "MEGA is the successor of Megaupload, the defendant in “")
    assert chain.locator("li.case").count() >= 1
    assert chain.locator("li.source").count() >= 1
    popup.screenshot(path=str(artifacts / "popup-related-en.png"), full_page=True)


def test_built_in_mode_sends_nothing_anywhere(browser, fake_server, page_server):
    """A browsing session in built-in mode, popup and settings included: the (fake) caseflag server
    whose address is saved gets no request at all, and the sites only their own page requests."""
    browser.reset(backendUrl=fake_server.url)
    before = len(page_server.requests)
    for host in ("thepiratebay.org", "www.cf-shop.com", "plain-site.org", "me.ga", "caseflag.test"):
        _, tab, _ = browser.visit(host, "/a/page?q=s3cr3t")
    browser.popup(tab).close()
    options = browser.context.new_page()
    options.goto(browser.extension_url("options/options.html"))
    options.wait_for_function("() => document.getElementById('list-info').textContent !== ''")
    time.sleep(0.5)

    assert fake_server.requests == []
    assert all(path == "/a/page?q=s3cr3t" or path == "/favicon.ico" for _, path in page_server.requests[before:])


def test_server_mode_sends_only_the_hostname(browser, fake_server):
    """In server mode the server gets ?domain=<hostname> for each site, the list download, and
    nothing else; special-use names are never sent."""
    browser.reset(fake_server.url)
    _, tab, state = browser.visit("www.thepiratebay.org", "/torrent/1?q=s3cr3t#frag")
    assert state["text"] == "i", "the fake server's answer, not the built-in list's"
    browser.visit("plain-site.org", "/account?token=s3cr3t")
    page = browser.open("caseflag.test")
    test_tab = browser.tab_id("caseflag.test")
    browser.wait_checked(test_tab, "caseflag.test", title=browser.message("titleLocal", "caseflag.test"))
    page.close()
    time.sleep(0.3)

    domains = []
    for method, target, _ in fake_server.requests:
        parts = urlsplit(target)
        if parts.path == "/api/v1/dataset/index":
            assert (method, parts.query) in {("GET", ""), ("OPTIONS", "")}, target
            continue
        assert (method, parts.path) == ("GET", "/api/v1/check"), target
        query = parse_qs(parts.query, keep_blank_values=True)
        assert list(query) == ["domain"], target
        domains.append(query["domain"][0])
    assert domains == ["www.thepiratebay.org", "plain-site.org"]
    assert len(fake_server.targets("/api/v1/dataset/index")) == 1, "one list download per interval"

    popup = browser.popup(tab)
    assert popup.locator("#source").inner_text() == (
        f"Answered by the server at {fake_server.url} on Dec 3, 2026 (data fake-server).")


def test_a_failing_server_falls_back_and_the_popup_says_so(browser, fake_server):
    """A server answering 503 (or not at all) leaves the answer to the built-in list."""
    fake_server.failing = True
    browser.reset(fake_server.url)
    _, tab, state = browser.visit("thepiratebay.org")
    assert (state["text"], state["color"]) == ("!", RED)
    popup = browser.popup(tab)
    assert popup.locator("#fallback").is_visible()
    assert popup.locator("#fallback-text").inner_text() == browser.message(
        "fallbackServerError", "thepiratebay.org", fake_server.url, "503")
    assert popup.locator("#source").inner_text().startswith("Answered by the built-in list")

    browser.reset(f"http://127.0.0.1:{closed_port()}")
    _, _, state = browser.visit("me.ga")
    assert (state["text"], state["color"]) == ("~", GREY)


def test_rules_of_today_hold_in_built_in_mode(browser):
    """Paused sites, off and local names give no badge in built-in mode too."""
    browser.reset(pausedSites=["thepiratebay.org"])
    _, _, state = browser.visit("www.thepiratebay.org")
    assert state["title"] == browser.message("titlePaused", "www.thepiratebay.org")
    assert state["text"] == ""

    browser.reset(enabled=False)
    page = browser.open("me.ga")
    tab = browser.tab_id("me.ga")
    assert browser.wait_checked(tab, "me.ga", title=browser.message("titleDisabled"))["text"] == ""
    page.close()

    browser.reset()
    page = browser.open("printer.local")
    tab = browser.tab_id("printer.local")
    state = browser.wait_checked(tab, "printer.local", title=browser.message("titleLocal", "printer.local"))
    assert state["text"] == ""


def test_the_related_chain_in_german(browser_de):
    """A German browser gets the related verdict, the chain and the source line in German."""
    browser_de.reset()
    _, tab, state = browser_de.visit("me.ga")
    assert state["title"] == (
        "caseflag: me.ga gehört zu MEGA, verbunden mit Megaupload, das in Urheberrechtsverfahren vorkommt")
    popup = browser_de.popup(tab)
    assert popup.locator("#verdict-title").inner_text() == "Mit einem Verfahren verbunden"
    assert popup.locator(".chain-text").first.inner_text().startswith(
        "MEGA ist der Nachfolger von Megaupload (Beklagter in „")
    assert popup.locator("#source").inner_text().startswith("Antwort der eingebauten Liste (Version ")
    assert popup.locator("#turn-off").inner_text() == "caseflag ausschalten"
    browser_de.close_pages()
