"""The options page in Chromium: the mode, the backend address checked with /healthz, the list,
switches, paused sites.

Saving server mode asks for the server's host permission, and Playwright cannot answer the browser's
prompt, so the tests that save or test an address run in the copy of the extension whose host access
is granted at install (conftest.granted_copy); a granted permission answers at once, as here."""

from __future__ import annotations

import pytest
from dnsserver import closed_port

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(browser_granted, live_server):
    """The granted copy asking the real backend."""
    browser_granted.reset(live_server.url)
    yield browser_granted
    browser_granted.close_pages()


@pytest.fixture
def options(browser):
    page = browser.context.new_page()
    page.goto(browser.extension_url("options/options.html"))
    return page


def status_after(page, action) -> str:
    """Runs action, then waits for the server status line to settle (it says 'Checking…' first)."""
    status = page.locator("#backend-status")
    action()
    page.wait_for_function(
        "() => { const s = document.getElementById('backend-status'); return !s.hidden && s.dataset.tone; }"
    )
    return status.inner_text()


def stored(browser, key):
    return browser.worker.evaluate("(key) => chrome.storage.local.get(key)", key)[key]


def test_options_page_reports_the_server_it_reaches(browser, live_server, options):
    """On load the page checks the saved address with /healthz and says it answers."""
    options.wait_for_function("() => document.getElementById('backend-status').dataset.tone === 'ok'")
    assert options.locator("#backend-url").input_value() == live_server.url
    assert f"a caseflag server answers at {live_server.url}" in options.locator("#backend-status").inner_text()
    assert "/healthz" in live_server.requests


def test_unreachable_address_gets_a_clear_message(browser, live_server, options):
    """Testing an address where nothing listens says so, names it, and says how to start one."""
    dead = f"http://127.0.0.1:{closed_port()}"
    options.locator("#backend-url").fill(dead)
    text = status_after(options, lambda: options.locator("#test-backend").click())
    assert text.startswith(f"No caseflag server answers at {dead}")
    assert "caseflag serve" in text
    assert options.locator("#backend-status").get_attribute("data-tone") == "bad"
    assert stored(browser, "backendUrl") == live_server.url, "testing must not save"


def test_saving_an_address_checks_and_stores_it(browser, live_server, options):
    """Save normalises the address (no trailing slash), stores it, and reports the health check."""
    options.locator("#backend-url").fill(live_server.url + "/")
    text = status_after(options, lambda: options.locator("#save-backend").click())
    assert text.startswith(f"Saved. A caseflag server answers at {live_server.url}.")
    assert "Data set:" in text
    assert stored(browser, "backendUrl") == live_server.url
    assert options.locator("#backend-url").input_value() == live_server.url


def test_a_bad_address_is_refused(browser, live_server, options):
    """Anything but an http(s) address is refused with an example, and nothing is stored."""
    options.locator("#backend-url").fill("ftp://127.0.0.1:8000")
    text = status_after(options, lambda: options.locator("#save-backend").click())
    assert "http://127.0.0.1:8000" in text and text.startswith("Enter an http:// or https:// address")
    assert stored(browser, "backendUrl") == live_server.url


def test_switches_and_paused_sites_are_saved(browser, live_server, options):
    """The on/off switch and the paused list are stored as they change, each with one status line.
    The private-windows switch follows the browser: Chromium here does not let caseflag into
    private windows, so it is off and disabled, and the hint says why."""
    options.locator("#enabled").uncheck()
    options.wait_for_function("() => !document.getElementById('checking-status').hidden")
    assert stored(browser, "enabled") is False
    assert options.locator("#check-private").is_disabled()
    assert not options.locator("#check-private").is_checked()
    assert options.locator("#private-hint").inner_text() == browser.message("optionsPrivateNotAllowed")

    options.locator("#paused-input").fill("https://WWW.Example.org/some/path")
    options.locator("#paused-form button[type=submit]").click()
    options.locator("#paused-list li").wait_for()
    assert options.locator("#paused-list .site").all_inner_texts() == ["www.example.org"]
    assert stored(browser, "pausedSites") == ["www.example.org"]
    assert visible_statuses(options) == [browser.message("optionsPausedSaved", "www.example.org")]

    options.locator("#paused-list .remove").click()
    options.locator("#paused-empty").wait_for()
    assert stored(browser, "pausedSites") == []


def visible_statuses(page) -> list[str]:
    return page.locator(".status:not([hidden])").all_inner_texts()


def test_choosing_a_mode_saves_nothing_until_save(browser, live_server, options):
    """Choosing the built-in list changes nothing stored and says so; the address field and its
    test button are disabled while it is chosen; Save stores it. Choosing the server again and
    saving checks it with /healthz. One status message shows at a time."""
    options.wait_for_function("() => document.getElementById('backend-status').dataset.tone === 'ok'")
    assert options.locator("#mode-server").is_checked()
    assert options.locator("#update-list").is_visible()

    options.locator("#mode-builtin").check()
    assert stored(browser, "mode") == "server", "choosing is not saving"
    assert options.locator("#backend-url").is_disabled() and options.locator("#test-backend").is_disabled()
    assert visible_statuses(options) == [browser.message("optionsModeUnsaved")]
    options.locator("#save-backend").click()
    options.wait_for_function("() => document.getElementById('backend-status').dataset.tone === 'ok'")
    assert visible_statuses(options) == [
        "Saved: answers come from the built-in list. Nothing leaves your browser."]
    assert stored(browser, "mode") == "builtin"
    assert options.locator("#update-list").is_hidden()
    asked = len(live_server.requests)

    # A reload in built-in mode asks the server nothing, not even /healthz.
    options.reload()
    options.wait_for_function("() => document.getElementById('list-info').textContent !== ''")
    assert options.locator("#mode-builtin").is_checked()
    assert options.locator("#backend-url").is_disabled()
    assert options.locator("#list-info").inner_text().startswith("In use: version ")
    assert "which came with caseflag" in options.locator("#list-info").inner_text()
    assert len(live_server.requests) == asked

    options.locator("#mode-server").check()
    assert stored(browser, "mode") == "builtin"
    assert len(live_server.requests) == asked, "choosing the server asks it nothing before Save"
    text = status_after(options, lambda: options.locator("#save-backend").click())
    assert text.startswith(f"Saved. A caseflag server answers at {live_server.url}.")
    assert stored(browser, "mode") == "server"
    assert stored(browser, "backendUrl") == live_server.url
    assert visible_statuses(options) == [text]


def test_a_failed_check_is_told_in_plain_words(browser, fake_server, options):
    """A server that answers /healthz with 503: the status says HTTP 503, never the browser's text."""
    fake_server.failing = True
    options.locator("#backend-url").fill(fake_server.url)
    text = status_after(options, lambda: options.locator("#test-backend").click())
    assert text == browser.message(
        "optionsStatusUnreachable", fake_server.url, browser.message("optionsReasonHttp", "503"))
