"""The popup in Chromium as a stranger meets it: the verdict, the site and the actions inside the
first 600 px for the longest entry of the list, nothing that cannot apply in built-in mode, every
action a few Tab presses away, dates in the extension's language, and every sentence about what
was sent true (a server that answered 503 received the host name)."""

from __future__ import annotations

import re
import urllib.request

import pytest

from .conftest import LONGEST_ENTITY, LONGEST_HOST, bundled_index

pytestmark = pytest.mark.browser

FIRST_SCREEN = 600  # Chrome's popups are at most 600 px tall; below that, the person scrolls


def bottom(popup, selector: str) -> float:
    return popup.locator(selector).evaluate("el => el.getBoundingClientRect().bottom")


@pytest.mark.parametrize("lang", ["en", "de"])
def test_verdict_and_pause_fit_the_first_screen_for_the_longest_entry(request, lang, artifacts):
    """The listed site with the most cases, reports and other domains: its verdict, Pause, Turn off
    and the report link end within the first 600 px of the 360 px wide popup."""
    browser = request.getfixturevalue(f"browser_{lang}")
    browser.reset()
    entity = next(e for e in bundled_index()["entities"] if e["id"] == LONGEST_ENTITY)
    # The site is one browsers reach only over https (HSTS): the page server's https port.
    _, tab, state = browser.visit(LONGEST_HOST, secure=True)
    assert entity["entry"]["entity"]["en"]["name"] in state["title"]
    popup = browser.popup(tab)
    popup.locator("#report").wait_for(state="visible")  # its address is read from project.json
    popup.screenshot(path=str(artifacts / f"popup-longest-{lang}.png"), full_page=True)
    popup.screenshot(path=str(artifacts / f"popup-longest-{lang}-first-screen.png"))
    assert popup.locator("#verdict").is_visible() and popup.locator("#pause").is_visible()
    for selector in ("#hostname", "#verdict", "#pause", "#turn-off", "#report"):
        assert popup.locator(selector).is_visible(), selector
        assert 0 < bottom(popup, selector) <= FIRST_SCREEN, selector
    # The rest follows, folded: the page is longer than one screen, yet the first screen holds the above.
    assert popup.evaluate("() => document.documentElement.scrollHeight") > FIRST_SCREEN
    browser.close_pages()


def test_built_in_mode_shows_nothing_that_cannot_apply(browser):
    """No "not checked" infrastructure block and no Check again (the built-in list is fixed); plain
    words instead of "registrable domain"; one footer line, with one date format."""
    _, tab, _ = browser.visit("www.thepiratebay.org")
    popup = browser.popup(tab)
    assert popup.locator("#infrastructure").is_hidden()
    assert popup.locator("#recheck").is_hidden()
    assert popup.locator("#registrable").inner_text() == "Part of thepiratebay.org"
    assert "egistrable" not in popup.locator("body").inner_text()
    footer = popup.locator("footer").inner_text().strip()
    assert "\n" not in footer
    index = bundled_index()
    assert footer == f"Answered by the built-in list (version {index['version']} of {medium_date(index['date'])}); nothing was sent."


def medium_date(iso: str) -> str:
    year, month, day = (int(part) for part in iso.split("-"))
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    return f"{months[month - 1]} {day}, {year}"


def test_every_action_is_a_few_tab_presses_away(browser):
    """From the top of the popup, Pause, Turn off and the report link come within six Tab presses."""
    _, tab, _ = browser.visit("thepiratebay.org")
    popup = browser.popup(tab)
    popup.locator("#report").wait_for(state="visible")
    reached = []
    for _ in range(6):
        popup.keyboard.press("Tab")
        reached.append(popup.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
    assert {"pause", "turn-off", "report"} <= set(reached), reached


def test_turn_off_from_the_popup(browser):
    """Turning caseflag off is one click in the popup; Turn on brings it back."""
    _, tab, _ = browser.visit("thepiratebay.org")
    popup = browser.popup(tab)
    popup.locator("#turn-off").click()
    popup.locator("#enable").wait_for()
    assert popup.locator("#notice-title").inner_text() == "caseflag is off"
    assert browser.worker.evaluate("() => chrome.storage.local.get('enabled')") == {"enabled": False}
    assert browser.wait_checked(tab, "thepiratebay.org", title=browser.message("titleDisabled"))["text"] == ""
    popup.locator("#enable").click()
    popup.locator("#verdict-title").wait_for()
    assert browser.wait_checked(tab, "thepiratebay.org")["text"] == "!"


def test_german_popup_shows_german_dates_and_language_names(browser_de):
    """Dates and language names follow the extension's German strings, not an English default."""
    browser_de.reset()
    _, tab, _ = browser_de.visit("thepiratebay.org")
    popup = browser_de.popup(tab)
    for case in popup.locator("details.case-box").all():
        case.evaluate("box => { box.open = true; }")
    metas = " ".join(popup.locator(".case-meta").all_text_contents())
    assert "17.04.2009" in metas, metas
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d", metas), metas
    index = bundled_index()
    day = ".".join(reversed(index["date"].split("-")))
    assert popup.locator("#source").inner_text() == (
        f"Antwort der eingebauten Liste (Version {index['version']} vom {day}); nichts wurde gesendet.")
    languages = " ".join(popup.locator(".source-meta").all_text_contents())  # folded cases too
    assert "Schwedisch" in languages or "Deutsch" in languages, languages
    assert "Swedish" not in languages and "German" not in languages
    browser_de.close_pages()


def test_a_server_that_fails_checks_received_the_host_name_and_the_popup_says_so(browser, fake_server):
    """Health 200, checks 503: the built-in list answers, and the popup says the host name was sent
    to that server (it was: the server logged it), in plain words, never "nothing was sent"."""
    fake_server.failing_checks = True
    with urllib.request.urlopen(f"{fake_server.url}/healthz", timeout=5) as response:
        assert response.status == 200
    browser.reset(fake_server.url)
    _, tab, state = browser.visit("thepiratebay.org")
    assert state["text"] == "!"
    assert "/api/v1/check?domain=thepiratebay.org" in fake_server.targets("/api/v1/check")
    popup = browser.popup(tab)
    assert popup.locator("#fallback-title").inner_text() == "The built-in list answered instead"
    assert popup.locator("#fallback-text").inner_text() == (
        f"The host name thepiratebay.org was sent to the server at {fake_server.url}, "
        "which answered with an error (HTTP 503).")
    assert "nothing was sent" not in popup.locator("body").inner_text()
    assert popup.locator("#source").inner_text().startswith("Answered by the built-in list (version ")
    assert popup.locator("#recheck").is_visible()
    for raw in ("Failed to fetch", "down for the test", "NetworkError"):
        assert raw not in popup.locator("body").inner_text()
