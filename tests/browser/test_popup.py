"""The popup in Chromium, in English and German: the verdict, entities, cases, reporting, evidence."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

pytestmark = pytest.mark.browser

TPB_CASE = "pirate-bay-trial-sweden"
BRIDAL_CASE = "bridal-makers-v-cloudflare"


@pytest.fixture
def browser(server_browser):
    """The popups here show the real backend's answers (server mode), DNS evidence included."""
    return server_browser


def backend_answer(live_server, domain: str, lang: str = "en") -> dict:
    with urllib.request.urlopen(f"{live_server.url}/api/v1/check?domain={domain}&lang={lang}", timeout=10) as response:
        return json.load(response)


def case_in(answer: dict, case_id: str) -> dict:
    return next(case for match in answer["matches"] for case in match["cases"] if case["id"] == case_id)


def first_source_language(popup, case_title: str) -> str:
    case = popup.locator("li.case", has=popup.locator(".case-title", has_text=case_title)).first
    return case.locator("li.source .source-meta").first.text_content()  # the case may be folded


def test_popup_in_english(browser, live_server, artifacts):
    """The popup names the site, the verdict, the entity, its cases and linked reporting."""
    _, tab, _ = browser.visit("www.thepiratebay.org")
    answer = backend_answer(live_server, "www.thepiratebay.org")
    popup = browser.popup(tab)

    assert popup.locator("#hostname").inner_text() == "www.thepiratebay.org"
    assert popup.locator("#registrable").inner_text() == "Part of thepiratebay.org"
    assert popup.locator("#verdict-title").inner_text() == "Target of copyright enforcement"
    assert "The Pirate Bay" in popup.locator("#verdict-text").inner_text()
    assert popup.locator(".entity-name").first.inner_text() == "The Pirate Bay"
    assert popup.locator(".role").first.inner_text() == "Subject"

    titles = popup.locator(".case-title").all_text_contents()  # the cases beyond the first few are folded
    assert case_in(answer, TPB_CASE)["title"] in titles

    # Reporting with an address is a link (new tab); reporting without one is plain text.
    linked = {(s["publisher"], s["url"]) for m in answer["matches"] for c in m["cases"]
              for s in c["sources"] if s.get("url")}
    links = popup.locator("a.source-link")
    assert links.count() > 0
    for link in links.all():
        assert (link.text_content(), link.get_attribute("href")) in linked
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in link.get_attribute("rel")
    for href in popup.locator("a[href]").evaluate_all("links => links.map(a => a.href)"):
        assert href.startswith(("http://", "https://")), href

    # The browser's language (English) first: the bridal case has English and German reporting.
    assert "English" in first_source_language(popup, case_in(answer, BRIDAL_CASE)["title"])

    infrastructure = popup.locator("#infra-providers").inner_text()
    assert "Served by Cloudflare: 104.21.16.1 is in 104.16.0.0/13" in infrastructure
    assert "nameservers *.ns.cloudflare.com" in infrastructure
    assert popup.locator("#pause").inner_text() == "Pause on thepiratebay.org"
    source = popup.locator("#source").inner_text()
    assert re.fullmatch(rf"Answered by the server at {re.escape(live_server.url)} on [A-Z][a-z]{{2}} \d{{1,2}}, "
                        rf"\d{{4}} \(data {re.escape(answer['dataset_version'])}\)\.", source), source
    assert popup.locator("#fallback").is_hidden()
    assert popup.locator("#recheck").is_visible(), "a server's answer can be asked for again"

    popup.screenshot(path=str(artifacts / "popup-en.png"), full_page=True)

    # The Pirate Bay's reporting all has addresses; AllofMP3's prosecution cites a print article without one.
    _, other_tab, _ = browser.visit("allofmp3.com")
    other = backend_answer(live_server, "allofmp3.com")
    other_popup = browser.popup(other_tab)
    unlinked = [s["publisher"] for s in case_in(other, "kvasov-allofmp3-prosecution")["sources"] if not s.get("url")]
    plain = other_popup.locator(".source-publisher").all_text_contents()
    assert unlinked and set(unlinked) <= set(plain)


def test_popup_in_german(browser_de, live_server, artifacts):
    """With a German browser the popup, the tooltip and the reporting order are German."""
    browser_de.reset(live_server.url)
    _, tab, state = browser_de.visit("thepiratebay.org")
    assert state["text"] == "!"
    assert state["title"] == "caseflag: thepiratebay.org gehört zu The Pirate Bay, Ziel von Urheberrechtsverfahren"
    answer = backend_answer(live_server, "thepiratebay.org")
    popup = browser_de.popup(tab)

    assert popup.locator("#open-options").inner_text() == "Einstellungen"
    assert popup.locator("#verdict-title").inner_text() == "Ziel von Urheberrechtsverfahren"
    assert popup.locator(".role").first.inner_text() == "Betroffen"
    assert "Verfahren" in popup.locator(".cases h4").first.inner_text()
    assert popup.locator(".sources-label").first.text_content() == "Berichterstattung:"
    german = backend_answer(live_server, "thepiratebay.org", lang="de")
    assert case_in(german, TPB_CASE)["title"] in popup.locator(".case-title").all_text_contents()
    assert "Deutsch" in first_source_language(popup, case_in(answer, BRIDAL_CASE)["title"])
    assert "Ausgeliefert über Cloudflare: 104.21.16.1 liegt in 104.16.0.0/13" in (
        popup.locator("#infra-providers").inner_text())
    assert popup.locator("#recheck").inner_text() == "Erneut prüfen"
    assert re.fullmatch(rf"Antwort des Servers unter {re.escape(live_server.url)} vom \d{{2}}\.\d{{2}}\.\d{{4}} "
                        rf"\(Daten {re.escape(answer['dataset_version'])}\)\.", popup.locator("#source").inner_text())

    popup.screenshot(path=str(artifacts / "popup-de.png"), full_page=True)
    browser_de.close_pages()


def test_popup_pause_button_pauses_the_site(browser, live_server):
    """"Pause on <site>" stops checks of that site at once; "Resume" starts them again."""
    _, tab, _ = browser.visit("thepiratebay.org")
    popup = browser.popup(tab)
    popup.locator("#pause").click()
    popup.locator("#notice-title").wait_for()
    assert popup.locator("#notice-title").inner_text() == "Paused"
    state = browser.wait_checked(tab, "thepiratebay.org", title=browser.message("titlePaused", "thepiratebay.org"))
    assert state["text"] == ""

    popup.locator("#resume").click()
    popup.locator("#verdict-title").wait_for()
    assert popup.locator("#verdict-title").inner_text() == "Target of copyright enforcement"
    assert browser.wait_checked(tab, "thepiratebay.org")["text"] == "!"


def test_popup_for_a_tab_without_a_website(browser):
    """A tab showing no http(s) page gets a plain explanation, not an error."""
    page = browser.context.new_page()
    page.goto("data:text/html,<p>no website here</p>")
    tab = browser.worker.evaluate("async () => (await chrome.tabs.query({})).at(-1).id")
    popup = browser.popup(tab)
    assert popup.locator("#notice-title").inner_text() == "Nothing to check"
    assert popup.locator("#site").is_hidden()
