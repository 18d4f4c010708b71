"""List updates in Chromium, server mode: the extension downloads a newer list from the (fake)
server with If-None-Match, uses it once validateIndex passes it, and keeps the list it has when
the server answers 304 or sends one that is cut short, broken or older."""

from __future__ import annotations

import json

import pytest

from .conftest import bundled_index

pytestmark = pytest.mark.browser

RED = [0xC6, 0x28, 0x28, 255]
INDEX = "/api/v1/dataset/index"


def newer_index(version: str, date: str = "2099-01-01") -> dict:
    """The bundled list, newer, in which plain-site.org is one of The Pirate Bay's domains."""
    index = bundled_index()
    index["version"], index["date"] = version, date
    tpb = next(entity for entity in index["entities"] if entity["id"] == "the-pirate-bay")
    tpb["domains"] = [*tpb["domains"], "plain-site.org"]
    return index


def serve(fake, index: dict | None = None, body: bytes | None = None, etag: str | None = None) -> None:
    fake.index_body = body if body is not None else json.dumps(index).encode()
    fake.index_etag = etag


def update_now(browser) -> dict:
    """Presses the settings' "Check for a newer list now" and returns the worker's list info."""
    page = browser.context.new_page()
    page.goto(browser.extension_url("options/options.html"))
    page.wait_for_function("() => document.getElementById('list-info').textContent !== ''")
    page.locator("#update-list").click()
    page.wait_for_function(
        "() => { const s = document.getElementById('list-status'); return !s.hidden && s.dataset.tone; }")
    status = page.locator("#list-status").inner_text()
    info = page.evaluate("() => chrome.runtime.sendMessage({ type: 'getListInfo' })")["result"]
    page.close()
    return {"status": status, **info}


def index_requests(fake) -> list[dict]:
    return [headers for method, target, headers in fake.requests if method == "GET" and target == INDEX]


@pytest.fixture
def updating(browser, fake_server):
    browser.reset(fake_server.url)
    return browser


def test_a_newer_list_is_downloaded_and_used(updating, fake_server):
    """A newer list with an ETag replaces the bundled one: the settings name it, and with the server
    gone the built-in list's answer comes from it."""
    serve(fake_server, newer_index("newer-1"), etag='"etag-1"')
    result = update_now(updating)
    assert result["status"] == "A newer list was downloaded and is in use."
    assert result["list"] == {"version": "newer-1", "date": "2099-01-01", "format": 2, "origin": "downloaded",
                              "server": fake_server.url}
    assert "If-None-Match" not in index_requests(fake_server)[0]

    # Only the new list has plain-site.org; the fake server fails, so the list answers.
    fake_server.failing = True
    _, tab, state = updating.visit("plain-site.org")
    assert (state["text"], state["color"]) == ("!", RED)
    popup = updating.popup(tab)
    source = popup.locator("#source").inner_text()
    # The server was asked (and failed): the line does not claim that nothing was sent.
    assert source == "Answered by the built-in list (version newer-1 of Jan 1, 2099)."


def test_304_keeps_the_list(updating, fake_server):
    """The second check sends the ETag; the server's 304 keeps the downloaded list."""
    serve(fake_server, newer_index("newer-1"), etag='"etag-1"')
    update_now(updating)
    result = update_now(updating)
    assert index_requests(fake_server)[-1]["If-None-Match"] == '"etag-1"'
    assert result["status"] == "The list in use is the newest."
    assert result["list"]["version"] == "newer-1"
    assert result["lastCheck"]["outcome"] == "unchanged"


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (json.dumps(newer_index("newer-2", "2099-06-01")).encode()[:50_000], "broken"),  # cut short
        (json.dumps({**newer_index("newer-2", "2099-06-01"), "format": 99}).encode(), "broken"),
        (json.dumps({**newer_index("newer-2", "2099-06-01"), "entities": "none"}).encode(), "broken"),
        (json.dumps(newer_index("older-1", "2000-01-01")).encode(), "older"),
    ],
    ids=["truncated", "unknown-format", "broken", "older"],
)
def test_a_bad_download_keeps_the_list(updating, fake_server, body, outcome):
    """A download that is cut short, fails validateIndex or is older leaves the list in use."""
    serve(fake_server, newer_index("newer-1"), etag='"etag-1"')
    update_now(updating)
    serve(fake_server, body=body, etag='"etag-2"')
    result = update_now(updating)
    assert result["lastCheck"]["outcome"] == outcome
    assert result["list"]["version"] == "newer-1"
    stored = updating.worker.evaluate("async () => (await chrome.storage.local.get('index')).index")
    assert (stored["index"]["version"], stored["etag"]) == ("newer-1", '"etag-1"')


def test_the_list_is_asked_for_at_most_every_few_hours(updating, fake_server):
    """Browsing in server mode asks for the list once; more pages ask nothing more of it."""
    serve(fake_server, newer_index("newer-1"), etag='"etag-1"')
    for host in ("thepiratebay.org", "riaa.com", "plain-site.org"):
        updating.visit(host)
    assert len(index_requests(fake_server)) == 1
    info = updating.worker.evaluate("async () => (await chrome.storage.local.get('indexCheck')).indexCheck")
    assert info["outcome"] == "updated" and info["server"] == fake_server.url


def test_built_in_mode_never_asks_for_a_list(browser, fake_server):
    """In built-in mode the update button is hidden and browsing downloads nothing."""
    browser.reset(backendUrl=fake_server.url)
    serve(fake_server, newer_index("newer-1"), etag='"etag-1"')
    browser.visit("thepiratebay.org")
    page = browser.context.new_page()
    page.goto(browser.extension_url("options/options.html"))
    page.wait_for_function("() => document.getElementById('list-info').textContent !== ''")
    assert page.locator("#update-list").is_hidden()
    assert fake_server.requests == []


def test_a_list_of_the_same_date_with_another_version_is_used(updating, fake_server):
    """Same format and date as the bundled list, another version (the server's data changed that
    day): it is used, and stays in use after the worker is stopped and prepares the list again."""
    bundled = bundled_index()
    serve(fake_server, newer_index("same-day", bundled["date"]), etag='"etag-same"')
    result = update_now(updating)
    assert result["lastCheck"]["outcome"] == "updated"
    assert result["list"]["version"] == "same-day"
    updating.stop_worker()
    updating.wake_worker()
    page = updating.context.new_page()
    page.goto(updating.extension_url("options/options.html"))
    info = page.evaluate("() => chrome.runtime.sendMessage({ type: 'getListInfo' })")["result"]
    assert (info["list"]["version"], info["list"]["origin"]) == ("same-day", "downloaded")
