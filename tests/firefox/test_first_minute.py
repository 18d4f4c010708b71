"""The first minute in real Firefox ESR: the welcome page opens once on install and the button sits
on the toolbar; the popup's verdict and Pause fit the first 600 px for the longest entry of the
list; a server failing checks with 503 is said to have received the host name; German dates in
the German popup; the report link opens the prefilled issue form and caseflag sends nothing; the
list page finds an entity by a domain; built-in mode, report and list page included, sends nothing."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import LONGEST_ENTITY, LONGEST_HOST
from .harness import CHECK_TIMEOUT, EXTENSION_DIR, FIRST_RUN_URL, PROJECT, builtin_index, messages

pytestmark = pytest.mark.firefox

PAGE_PATH = "/some/path?secret=s3cr3t#frag"
TPB = "www.thepiratebay.org"
FIRST_SCREEN = 600


def test_the_welcome_page_opens_once_and_the_button_is_on_the_toolbar(fresh_firefox):
    """The install opened exactly one welcome tab, with Firefox's pinning words; the button is in
    the navigation bar without anyone pinning it (action.default_area); a restarted event page
    opens no second welcome tab."""
    browser = fresh_firefox
    assert browser.first_run_pages == [FIRST_RUN_URL]
    area = browser.chrome(
        """const widget = arguments[0].toLowerCase().replace(/[^a-z0-9_-]/g, "_") + "-browser-action";
           return CustomizableUI.getPlacementOfWidget(widget)?.area ?? null;""",
        browser.addon_id,
    )
    assert area == "nav-bar"

    page = browser.open_tab(FIRST_RUN_URL)
    assert browser.text_of(page, "h1") == browser.message("firstrunTitle")
    assert browser.text_of(page, "#pin-text") == browser.message("firstrunPinFirefox")
    assert browser.in_page(page, 'const img = document.getElementById("pin-picture");'
                                 "return img.complete && img.naturalWidth > 0;")
    browser.close_tab(page)

    browser.stop_background()
    view = browser.ext('return await browser.runtime.sendMessage({ type: "getTabView", tabId: 0 });')
    assert view["ok"] is True
    assert browser.wait_first_run(timeout=3.0) == []


def bottom(browser, handle: str, selector: str) -> float:
    return browser.in_page(handle, "return document.querySelector(args[0]).getBoundingClientRect().bottom;",
                           selector)


def test_verdict_and_pause_fit_the_first_screen_for_the_longest_entry(firefox, sites, artifacts):
    """The listed site with the most cases and reporting: its verdict, Pause, Turn off and the
    report link end within the first 600 px; the rest of the popup follows below."""
    _, tab, state = firefox.visit(sites.page_url(LONGEST_HOST, PAGE_PATH), LONGEST_HOST)
    assert state["text"], state
    popup = firefox.popup(tab)
    deadline = time.monotonic() + CHECK_TIMEOUT
    while firefox.text_of(popup, "#report") is None:  # its address is read from project.json
        assert time.monotonic() < deadline, "the report link did not show"
        time.sleep(0.1)
    firefox.screenshot(popup, artifacts / "firefox-popup-longest-en.png")
    assert LONGEST_ENTITY and firefox.text_of(popup, "#pause") == firefox.message("popupPauseSite", LONGEST_HOST)
    for selector in ("#verdict", "#pause", "#turn-off", "#report"):
        assert firefox.text_of(popup, selector), f"{selector} is not shown"
        assert 0 < bottom(firefox, popup, selector) <= FIRST_SCREEN, selector
    assert firefox.in_page(popup, "return document.documentElement.scrollHeight;") > FIRST_SCREEN
    assert firefox.text_of(popup, "#infrastructure") is None  # built-in mode: nothing that cannot apply
    assert firefox.text_of(popup, "#recheck") is None


def test_a_server_failing_checks_received_the_host_name_and_the_popup_says_so(firefox, sites, fake_server):
    """Health 200, checks 503: the built-in list answers and the popup says the host name was
    sent to the server (its log has the request), never "nothing was sent"."""
    fake_server.failing_checks = True
    firefox.grant_origins("http://127.0.0.1/*")  # as saving the address in the settings does
    firefox.grant_send_consent()
    firefox.set_options(mode="server", backendUrl=fake_server.url)
    _, tab, state = firefox.visit(sites.page_url(TPB, PAGE_PATH), TPB)
    assert state["text"] == "!", state
    assert f"/api/v1/check?domain={TPB}" in fake_server.paths()
    popup = firefox.popup(tab)
    assert firefox.text_of(popup, "#fallback-title") == firefox.message("fallbackTitle")
    assert firefox.text_of(popup, "#fallback-text") == firefox.message(
        "fallbackServerError", TPB, fake_server.url, "503")
    assert "nothing was sent" not in firefox.text_of(popup, "body")
    assert "NetworkError" not in firefox.text_of(popup, "body")


def test_the_german_popup_shows_german_dates(firefox_german, sites):
    """Dates follow the extension's German strings: 17.04.2009, not Apr 17, 2009."""
    _, tab, _ = firefox_german.visit(sites.page_url(TPB, PAGE_PATH), TPB)
    popup = firefox_german.popup(tab)
    metas = firefox_german.in_page(
        popup, 'return [...document.querySelectorAll(".case-meta")].map((el) => el.textContent).join(" ");')
    assert "17.04.2009" in metas, metas
    assert "Apr 17" not in metas
    index = builtin_index()
    day = ".".join(reversed(index["date"].split("-")))
    assert firefox_german.text_of(popup, "#source") == messages("de")["popupSourceBuiltin"].replace(
        "$VERSION$", index["version"]).replace("$DATE$", day)


def test_the_report_link_opens_the_prefilled_form_and_sends_nothing(firefox, sites, fake_server):
    """Built-in mode with a counting server's address saved: clicking the report link opens a tab
    at the issue form with the host name, verdict, entity and dataset version filled in; the
    server and the site receive nothing from it."""
    firefox.set_options(backendUrl=fake_server.url)
    _, tab, _ = firefox.visit(sites.page_url(TPB, PAGE_PATH), TPB)
    popup = firefox.popup(tab)
    before = len(sites.requests)
    firefox.element(popup, "#report").click()
    deadline = time.monotonic() + CHECK_TIMEOUT
    opened: list[str] = []
    while not opened and time.monotonic() < deadline:
        opened = [url for url in firefox.tab_urls() if url.startswith(PROJECT["issue_form"])]
        time.sleep(0.1)
    assert len(opened) == 1, firefox.tab_urls()
    fields = {key: values[0] for key, values in parse_qs(urlsplit(opened[0]).query).items()}
    assert fields["domain"] == TPB
    assert fields["dataset_version"] == builtin_index()["version"]
    assert fields["verdict"] == "target" and fields["entity"] == "The Pirate Bay"
    assert fields["template"] == PROJECT["issue_template"]
    time.sleep(0.5)
    assert fake_server.requests == []
    assert sites.requests[before:] == []


def visible_entities(browser, handle: str) -> list[str]:
    return browser.in_page(
        handle,
        """return [...document.querySelectorAll("#entities .entry")].filter((el) => !el.hidden)
             .map((el) => el.querySelector(".entry-name").textContent);""",
    )


def test_the_list_page_finds_an_entity_by_a_domain_and_sends_nothing(firefox, sites, fake_server, artifacts):
    """The list page (built-in mode, a counting server's address saved) lists every entity;
    typing one of The Pirate Bay's other domains finds it; nothing is requested anywhere."""
    firefox.set_options(backendUrl=fake_server.url)
    page = firefox.open_tab(firefox.extension_url("list/list.html"))
    deadline = time.monotonic() + CHECK_TIMEOUT
    while not firefox.text_of(page, "#count"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    index = json.loads((EXTENSION_DIR / "data" / "index.json").read_text(encoding="utf-8"))
    assert len(visible_entities(firefox, page)) == len(index["entities"])
    firefox.element(page, "#search").send_keys("thepiratebay.se")
    assert visible_entities(firefox, page) == ["The Pirate Bay"]
    firefox.screenshot(page, artifacts / "firefox-list-page-en.png")
    time.sleep(0.5)
    assert fake_server.requests == []
    assert sites.requests == []


def test_the_welcome_page_in_german(firefox_german):
    """A German Firefox gets the welcome page in German, with Firefox's own pinning words."""
    page = firefox_german.open_tab(FIRST_RUN_URL)
    german = messages("de")
    assert firefox_german.in_page(page, "return document.documentElement.lang;") == "de"
    assert firefox_german.text_of(page, "h1") == german["firstrunTitle"]
    assert firefox_german.text_of(page, "#pin-text") == german["firstrunPinFirefox"]
    assert german["firstrunSendsNothing"] in firefox_german.text_of(page, "main")
