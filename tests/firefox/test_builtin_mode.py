"""Built-in mode, the default of a fresh install, in real Firefox: the bundled list answers, the
toolbar shows it, the popup renders in English and German, and no request goes anywhere."""

from __future__ import annotations

import time

import pytest

from .harness import builtin_index, fill, messages

pytestmark = pytest.mark.firefox

RED = [0xC6, 0x28, 0x28, 255]
PAGE_PATH = "/some/path?secret=s3cr3t#frag"
TPB = "www.thepiratebay.org"


def test_a_fresh_install_flags_a_target_and_sends_nothing(firefox, sites, fake_server):
    """Nothing is stored after the install; a target site gets the red "!" from the built-in
    list, a site in no list gets no badge, and a server that counts every request it receives
    (set as the server address, the mode left as installed) receives none."""
    assert firefox.stored("local") == {}
    # Only the address changes, so that a request, were one made, would reach a server that counts.
    firefox.set_options(backendUrl=fake_server.url)

    page, _, state = firefox.visit(sites.page_url(TPB, PAGE_PATH), TPB)
    assert state["text"] == "!", state
    assert state["color"] == RED
    assert state["title"] == firefox.message("titleTarget", TPB, "The Pirate Bay")
    # and Firefox's own toolbar draws it so
    button = firefox.wait_toolbar_button(page, lambda b: b["tooltip"] == state["title"], "the verdict")
    assert button["url"].startswith(f"http://{TPB}:"), button
    assert button["badge"] == "!", button
    assert "background-color: rgba(198, 40, 40, 1)" in button["style"], button

    _, tab, state = firefox.visit(sites.page_url("plain-site.org", PAGE_PATH), "plain-site.org")
    assert state["text"] == "", state
    assert state["title"] == firefox.message("titleNone", "plain-site.org")
    popup = firefox.popup(tab)
    assert firefox.text_of(popup, "#hostname") == "plain-site.org"

    time.sleep(1.0)  # a late request (a retry, an update check) would still arrive meanwhile
    assert fake_server.requests == []
    # The sites themselves saw only the pages (and Firefox's favicon requests), nothing else.
    assert {path for _, path in sites.requests} <= {PAGE_PATH.split("#")[0], "/favicon.ico"}
    assert {host.split(":")[0] for host, _ in sites.requests} == {TPB, "plain-site.org"}


def test_the_counting_server_does_see_server_mode(firefox, sites, fake_server):
    """The check above can fail: the same browser in server mode sends the hostname to that
    server at once, and the badge follows its answer (it calls plain-site.org a target)."""
    firefox.grant_send_consent()  # as saving the address in the settings does
    firefox.set_options(mode="server", backendUrl=fake_server.url)
    _, _, state = firefox.visit(sites.page_url("plain-site.org", PAGE_PATH), "plain-site.org")
    assert state["text"] == "!", state
    assert "/api/v1/check?domain=plain-site.org" in fake_server.paths()


def popup_texts(firefox, handle: str) -> dict:
    return {
        "lang": firefox.in_page(handle, "return document.documentElement.lang;"),
        "hostname": firefox.text_of(handle, "#hostname"),
        "verdict_title": firefox.text_of(handle, "#verdict-title"),
        "verdict_text": firefox.text_of(handle, "#verdict-text"),
        "settings": firefox.text_of(handle, "#open-options"),
        "entity": firefox.text_of(handle, ".entity-name"),
        "notice": firefox.text_of(handle, "#notice-title"),
        "fallback": firefox.text_of(handle, "#fallback"),
        "source": firefox.text_of(handle, "#source"),
    }


def check_popup(browser, sites, lang: str, path) -> dict:
    strings = messages(lang)
    _, tab, state = browser.visit(sites.page_url(TPB, PAGE_PATH), TPB)
    assert state["text"] == "!", state
    popup = browser.popup(tab)
    texts = popup_texts(browser, popup)
    browser.screenshot(popup, path)
    assert texts["lang"].split("-")[0] == lang, texts
    assert texts["hostname"] == TPB, texts
    assert texts["verdict_title"] == strings["verdictTitle_target"], texts
    assert "The Pirate Bay" in texts["verdict_text"], texts
    assert texts["settings"] == strings["popupSettings"], texts
    assert texts["entity"] == "The Pirate Bay", texts
    assert texts["notice"] is None, texts
    assert texts["fallback"] is None, texts
    # The list's version verbatim; its date as the popup formats it (not asserted).
    before_date, _, after_date = strings["popupSourceBuiltin"].partition("$DATE$")
    assert texts["source"].startswith(fill(before_date, **builtin_index())), texts
    assert texts["source"].endswith(after_date), texts
    return texts


def test_popup_in_english(firefox, sites, artifacts):
    """The popup names the site and the verdict with its entity; screenshot firefox-popup-en.png."""
    check_popup(firefox, sites, "en", artifacts / "firefox-popup-en.png")


def test_popup_in_german(firefox_german, sites, artifacts):
    """A German Firefox gets the German strings (not the English ones); firefox-popup-de.png."""
    texts = check_popup(firefox_german, sites, "de", artifacts / "firefox-popup-de.png")
    english = messages("en")
    assert texts["verdict_title"] != english["verdictTitle_target"]
    assert texts["settings"] != english["popupSettings"]
    assert firefox_german.message("titleTarget", TPB, "The Pirate Bay") != english["titleTarget"]
