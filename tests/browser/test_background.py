"""The service worker in Chromium in server mode, against the real backend: badges, tooltips,
privacy, storage, and the built-in list as the fallback when the server is gone."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from dnsserver import closed_port

pytestmark = pytest.mark.browser

RED = [0xC6, 0x28, 0x28, 255]
BLUE = [0x15, 0x65, 0xC0, 255]
AMBER = [0xF9, 0xA8, 0x25, 255]


@pytest.fixture
def browser(server_browser):
    """Every test here asks the real backend (server mode)."""
    return server_browser


def checked_domains(requests: list[str]) -> list[str]:
    return [parse_qs(urlsplit(target).query)["domain"][0] for target in requests
            if urlsplit(target).path == "/api/v1/check"]


def test_target_site_gets_a_red_exclamation_badge(browser):
    """thepiratebay.org is a target: red "!" and a tooltip naming the entity."""
    _, _, state = browser.visit("thepiratebay.org")
    assert state["text"] == "!"
    assert state["color"] == RED
    assert state["title"] == browser.message("titleTarget", "thepiratebay.org", "The Pirate Bay")


def test_site_served_by_cloudflare_gets_an_amber_provider_badge(browser):
    """cf-shop.com is only served by Cloudflare: amber badge with the provider's short label."""
    _, _, state = browser.visit("cf-shop.com")
    assert state["text"] == "CF"
    assert state["color"] == AMBER
    assert state["title"] == browser.message("titleInfrastructure", "cf-shop.com", "Cloudflare")


def test_party_to_cases_gets_a_blue_badge(browser):
    """riaa.com belongs to a plaintiff, a party but not a target: blue badge."""
    _, _, state = browser.visit("riaa.com")
    assert state["text"] == "i"
    assert state["color"] == BLUE
    assert state["title"] == browser.message(
        "titleParty", "riaa.com", "Recording Industry Association of America (RIAA)")


def test_site_with_nothing_known_gets_no_badge(browser):
    """plain-site.org is in no case and not served by a listed provider: no badge at all."""
    _, _, state = browser.visit("plain-site.org")
    assert state["text"] == ""
    assert state["title"] == browser.message("titleNone", "plain-site.org")


def test_unreachable_backend_falls_back_to_the_built_in_list(browser, live_server):
    """With no server answering, the built-in list answers (a red "!" for a target) and the popup says so."""
    dead = f"http://127.0.0.1:{closed_port()}"
    browser.reset(dead)
    _, tab, state = browser.visit("thepiratebay.org")
    assert state["text"] == "!"
    assert state["color"] == RED
    assert state["title"] == browser.message("titleTarget", "thepiratebay.org", "The Pirate Bay")

    popup = browser.popup(tab)
    assert popup.locator("#fallback").is_visible()
    assert popup.locator("#fallback h2").inner_text() == "The built-in list answered instead"
    # Nothing listens there, and caseflag has no permission for the address either: the browser
    # cannot tell the two apart, so the popup does not claim the name was or was not sent.
    assert popup.locator("#fallback-text").inner_text() == browser.message(
        "fallbackPermission", "thepiratebay.org", dead)
    assert "nothing was sent" not in popup.locator("#source").inner_text()
    assert popup.locator("#source").inner_text().startswith("Answered by the built-in list (version ")
    assert popup.locator("#verdict-title").inner_text() == "Target of copyright enforcement"


def test_unavailable_dns_gives_no_badge_and_the_popup_says_why(browser):
    """When the backend's DNS fails, nothing alarming shows and the popup names what is unknown."""
    _, tab, state = browser.visit("servfail.com")
    assert state["text"] == ""
    assert state["title"] == browser.message("titleNoneInfraUnknown", "servfail.com")
    popup = browser.popup(tab)
    assert popup.locator("#verdict-text").inner_text() == browser.message("verdictText_noneUnknown")
    infrastructure = popup.locator("#infra-status").inner_text()
    assert infrastructure.startswith("Unknown: DNS could not be asked (")
    assert "SERVFAIL" in infrastructure


def test_stopped_backend_falls_back_without_a_provider_badge(browser, live_server):
    """The real backend stopped mid-session: the built-in list answers, and with no DNS (and no
    connection permission) it claims no provider, so cf-shop.com gets no "CF"."""
    browser.visit("thepiratebay.org")
    live_server.stop()
    _, tab, state = browser.visit("cf-shop.com")
    assert state["text"] == ""
    assert state["title"] == browser.message("titleNone", "cf-shop.com")
    popup = browser.popup(tab)
    assert popup.locator("#fallback").is_visible()
    # The built-in list makes no DNS lookups: no "not checked" block that could not apply.
    assert popup.locator("#infrastructure").is_hidden()


def test_only_the_hostname_reaches_the_backend(browser, live_server, page_server):
    """The backend sees /api/v1/check?domain=<hostname> only: no path, query, fragment, other scheme."""
    browser.visit("www.thepiratebay.org", "/torrent/123/some-title?q=s3cr3t&utm_source=x#frag")
    browser.visit("plain-site.org", "/account/settings?token=s3cr3t")
    page = browser.context.new_page()
    page.goto("data:text/html,<title>s3cr3t</title>")
    time.sleep(0.5)

    assert live_server.requests, "the backend was never asked"
    for target in live_server.requests:
        parts = urlsplit(target)
        if target == "/api/v1/dataset/index":
            continue  # the list download, which carries nothing about the sites
        assert parts.path == "/api/v1/check", target
        assert list(parse_qs(parts.query, keep_blank_values=True)) == ["domain"], target
        assert "s3cr3t" not in target and "torrent" not in target and "account" not in target
    assert sorted(checked_domains(live_server.requests)) == ["plain-site.org", "www.thepiratebay.org"]
    # The page itself did load with its path and query: only the backend never saw them.
    page_request = (f"www.thepiratebay.org:{page_server.port}", "/torrent/123/some-title?q=s3cr3t&utm_source=x")
    assert page_request in page_server.requests


def test_paused_site_is_never_asked_about(browser, live_server):
    """A paused site (and its subdomains) is not sent to the backend and shows no badge."""
    browser.reset(live_server.url, pausedSites=["thepiratebay.org"])
    _, _, state = browser.visit("www.thepiratebay.org")
    assert state["text"] == ""
    assert state["title"] == browser.message("titlePaused", "www.thepiratebay.org")
    browser.visit("plain-site.org")
    assert checked_domains(live_server.requests) == ["plain-site.org"]


def test_switched_off_asks_nothing(browser, live_server):
    """With caseflag off, no site is sent anywhere and the tooltip says it is off."""
    browser.reset(live_server.url, enabled=False)
    page = browser.open("thepiratebay.org")
    tab = browser.tab_id("thepiratebay.org")
    state = browser.wait_checked(tab, "thepiratebay.org", title=browser.message("titleDisabled"))
    assert state["text"] == ""
    page.reload()
    time.sleep(0.3)
    assert checked_domains(live_server.requests) == []


def test_turning_pause_on_clears_the_badge_of_open_tabs(browser, live_server):
    """Pausing a site from the options updates tabs already showing it."""
    _, tab, state = browser.visit("thepiratebay.org")
    assert state["text"] == "!"
    browser.worker.evaluate("() => chrome.storage.local.set({ pausedSites: ['thepiratebay.org'] })")
    state = browser.wait_checked(tab, "thepiratebay.org", title=browser.message("titlePaused", "thepiratebay.org"))
    assert state["text"] == ""


def test_answers_are_kept_per_hostname_in_session_storage(browser, live_server):
    """A revisit is answered from storage.session: the backend is asked once per hostname."""
    browser.visit("thepiratebay.org")
    browser.visit("thepiratebay.org", "/another/page")
    browser.visit("www.thepiratebay.org")
    assert checked_domains(live_server.requests) == ["thepiratebay.org", "www.thepiratebay.org"]
    stored = browser.stored_answers()
    assert set(stored) == {"host:thepiratebay.org", "host:www.thepiratebay.org"}
    entry = stored["host:thepiratebay.org"]
    assert entry["result"]["verdict"]["level"] == "target"
    assert entry["expires"] > entry["savedAt"]


def test_a_stopped_worker_answers_revisits_from_storage(browser, live_server):
    """After the browser stops the service worker, a fresh one badges a revisit with no request."""
    browser.visit("thepiratebay.org")
    browser.worker.evaluate("() => { globalThis.caseflagTestMarker = 1; }")

    browser.stop_worker()
    page = browser.open("thepiratebay.org", "/after-restart")
    browser.wake_worker()
    tab = browser.tab_id("thepiratebay.org")
    state = browser.wait_checked(tab, "thepiratebay.org")

    assert browser.worker.evaluate("() => globalThis.caseflagTestMarker ?? null") is None, "not restarted"
    assert state["text"] == "!"
    assert checked_domains(live_server.requests) == ["thepiratebay.org"]
    page.close()
