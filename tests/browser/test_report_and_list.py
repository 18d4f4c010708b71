"""Reporting a listing and the list page in Chromium: the report link opens the project's issue
form prefilled (host name, verdict, entity, dataset version) in a new tab and caseflag sends
nothing; the list page finds an entity by a domain, offline; built-in mode, report and list page
included, sends no request anywhere."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import FORM_HOST, PROJECT, bundled_index

pytestmark = pytest.mark.browser


def follow_report(browser, popup) -> list[str]:
    """Clicks the popup's report link; returns the addresses the new tab asked for. The form's
    host never resolves here, and the route catches the request before it would leave."""
    asked: list[str] = []

    def catch(route) -> None:
        asked.append(route.request.url)
        route.abort()

    browser.context.route(f"https://{FORM_HOST}/**", catch)
    try:
        with popup.expect_popup() as opened:
            popup.locator("#report").click()
        opened.value.wait_for_load_state()
        deadline = time.monotonic() + 5
        while not asked and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        browser.context.unroute(f"https://{FORM_HOST}/**", catch)
    return asked


def test_report_opens_the_prefilled_form_and_sends_nothing(browser, fake_server, page_server):
    """Built-in mode, a server address saved that would count any request: the link is the issue
    form with the site, the verdict, the entity and the list's version; following it opens one tab
    that asks for that form, and neither the server nor the site gets anything."""
    browser.reset(backendUrl=fake_server.url)
    _, tab, _ = browser.visit("www.thepiratebay.org")
    popup = browser.popup(tab)
    assert popup.locator("#report").inner_text() == "Report a problem with this listing"
    before = len(page_server.requests)
    asked = follow_report(browser, popup)

    assert len(asked) == 1, asked
    address = urlsplit(asked[0])
    assert f"{address.scheme}://{address.netloc}{address.path}" == PROJECT["issue_form"]
    fields = {key: values[0] for key, values in parse_qs(address.query).items()}
    assert fields == {
        "template": PROJECT["issue_template"],
        "title": "Listing: www.thepiratebay.org",
        "domain": "www.thepiratebay.org",
        "verdict": "target",
        "entity": "The Pirate Bay",
        "dataset_version": bundled_index()["version"],
    }
    time.sleep(0.5)
    assert fake_server.requests == []
    assert page_server.requests[before:] == []


def test_a_site_nothing_is_known_about_can_be_suggested(browser):
    """Where the list knows nothing, the link says "Suggest this site" and fills in the host name."""
    _, tab, _ = browser.visit("plain-site.org")
    popup = browser.popup(tab)
    assert popup.locator("#report").inner_text() == "Suggest this site"
    fields = parse_qs(urlsplit(popup.locator("#report").get_attribute("href")).query)
    assert fields["domain"] == ["plain-site.org"] and fields["verdict"] == ["none"]
    assert fields["title"] == ["Suggest: plain-site.org"]


def open_list(browser, query: str = ""):
    page = browser.context.new_page()
    page.goto(browser.extension_url("list/list.html"))
    page.wait_for_function("() => document.getElementById('count').textContent !== ''")
    if query:
        page.locator("#search").fill(query)
    return page


def visible_names(page, section: str) -> list[str]:
    return page.locator(f"#{section} .entry:not([hidden]) .entry-name").all_inner_texts()


def test_the_list_page_finds_an_entity_by_a_domain(browser, artifacts):
    """Every entity and case of the list is there; typing a subdomain of one of The Pirate Bay's
    other domains finds it, with its cases and their reporting; a name finds it too."""
    index = bundled_index()
    page = open_list(browser)
    assert page.locator("#entities .entry").count() == len(index["entities"])
    assert page.locator("#cases .entry").count() == len(index["cases"])

    page.locator("#search").fill("www.thepiratebay.se")
    assert visible_names(page, "entities") == ["The Pirate Bay"]
    cases = visible_names(page, "cases")
    assert index["cases"]["pirate-bay-trial-sweden"]["en"]["title"] in cases
    trial = page.locator("#case-pirate-bay-trial-sweden")
    assert trial.locator(".sources li").count() >= 1
    page.screenshot(path=str(artifacts / "list-page-en.png"), full_page=True)

    page.locator("#search").fill("cloudflare")
    assert "Cloudflare" in visible_names(page, "entities")
    page.locator("#search").fill("no-such-site.example")
    assert page.locator("#count").inner_text() == "Nothing in the list matches “no-such-site.example”."


def test_the_list_page_is_reachable_from_the_popup_and_the_settings(browser):
    """The popup's and the settings' "What the list knows" open the list page in a new tab."""
    _, tab, _ = browser.visit("plain-site.org")
    popup = browser.popup(tab)
    popup.locator("#open-list").click()
    options = browser.context.new_page()
    options.goto(browser.extension_url("options/options.html"))
    options.locator("#open-list").click()
    deadline = time.monotonic() + 5
    list_url = browser.extension_url("list/list.html")
    while time.monotonic() < deadline:
        tabs = browser.worker.evaluate("async () => (await chrome.tabs.query({})).map((t) => t.url)")
        if tabs.count(list_url) == 2:
            break
        time.sleep(0.1)
    assert tabs.count(list_url) == 2, tabs


def test_built_in_mode_with_report_and_list_page_sends_nothing(browser, fake_server, page_server):
    """A session in built-in mode that opens the popup, the list page (and searches it) and the
    settings: the server whose address is saved gets no request, the sites only their own pages."""
    browser.reset(backendUrl=fake_server.url)
    before = len(page_server.requests)
    _, tab, _ = browser.visit("thepiratebay.org", "/a/page?q=s3cr3t")
    popup = browser.popup(tab)
    assert popup.locator("#report").get_attribute("href").startswith(PROJECT["issue_form"])
    page = open_list(browser, "thepiratebay.org")
    assert visible_names(page, "entities") == ["The Pirate Bay"]
    options = browser.context.new_page()
    options.goto(browser.extension_url("options/options.html"))
    options.wait_for_function("() => document.getElementById('list-info').textContent !== ''")
    time.sleep(0.5)
    assert fake_server.requests == []
    assert all(path in ("/a/page?q=s3cr3t", "/favicon.ico") for _, path in page_server.requests[before:])
