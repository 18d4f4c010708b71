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
    """The on/off and private-window switches and the paused list are stored as they change."""
    options.locator("#enabled").uncheck()
    options.locator("#check-private").check()
    options.locator("#paused-input").fill("https://WWW.Example.org/some/path")
    options.locator("#paused-form button[type=submit]").click()
    options.locator("#paused-list li").wait_for()

    assert options.locator("#paused-list .site").all_inner_texts() == ["www.example.org"]
    assert stored(browser, "enabled") is False
    assert stored(browser, "checkPrivate") is True
    assert stored(browser, "pausedSites") == ["www.example.org"]

    options.locator("#paused-list .remove").click()
    options.locator("#paused-empty").wait_for()
    assert stored(browser, "pausedSites") == []


def test_mode_switch_saves_each_mode(browser, live_server, options):
    """Built-in saves at once and stops the server checks; choosing the server saves it and checks it."""
    options.wait_for_function("() => document.getElementById('backend-status').dataset.tone === 'ok'")
    assert options.locator("#mode-server").is_checked()
    assert options.locator("#update-list").is_visible()

    options.locator("#mode-builtin").check()
    options.wait_for_function("() => !document.getElementById('mode-status').hidden")
    assert options.locator("#mode-status").inner_text() == (
        "Saved: answers come from the built-in list. Nothing leaves your browser.")
    assert stored(browser, "mode") == "builtin"
    assert options.locator("#update-list").is_hidden()
    asked = len(live_server.requests)

    # A reload in built-in mode asks the server nothing, not even /healthz.
    options.reload()
    options.wait_for_function("() => document.getElementById('list-info').textContent !== ''")
    assert options.locator("#mode-builtin").is_checked()
    assert options.locator("#list-info").inner_text().startswith("In use: version ")
    assert "which came with caseflag" in options.locator("#list-info").inner_text()
    assert len(live_server.requests) == asked

    text = status_after(options, lambda: options.locator("#mode-server").check())
    assert text.startswith(f"Saved. A caseflag server answers at {live_server.url}.")
    assert stored(browser, "mode") == "server"
    assert stored(browser, "backendUrl") == live_server.url
    assert options.locator("#mode-status").inner_text() == f"Saved: caseflag asks the server at {live_server.url}."
