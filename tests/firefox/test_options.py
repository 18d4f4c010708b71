"""The settings page in real Firefox: switching to server mode the way a person does (type the
address, press Save) asks for the server's host permission in the click and saves the mode."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.firefox

RED = [0xC6, 0x28, 0x28, 255]
TPB = "www.thepiratebay.org"


def test_saving_a_server_address_grants_its_host_and_switches_to_server_mode(firefox, sites, live_server):
    """In a fresh install the page shows built-in mode and asks nothing of any server. Typing the
    real server's address and pressing Save: permissions.request runs inside the click (Firefox
    refuses it otherwise), the host is granted, mode and address are saved, /healthz is asked,
    and the next page is checked with that server."""
    page = firefox.open_tab(firefox.extension_url("options/options.html"))
    assert firefox.element(page, "#mode-builtin").is_selected()
    assert not firefox.element(page, "#mode-server").is_selected()
    time.sleep(0.5)
    assert live_server.requests == []  # in built-in mode the page checks no server either

    # Outside a person's action Firefox refuses the request, prompt or not.
    refused = firefox.ext(
        """try { await browser.permissions.request({ origins: ["http://127.0.0.1/*"] }); return "granted"; }
           catch (err) { return String(err.message || err); }""")
    assert "user input handler" in refused, refused
    assert "http://127.0.0.1/*" not in firefox.origins_granted()

    field = firefox.element(page, "#backend-url")
    field.clear()
    field.send_keys(live_server.url)
    firefox.element(page, "#save-backend").click()

    deadline = time.monotonic() + 15
    while firefox.stored("local").get("mode") != "server":
        assert time.monotonic() < deadline, (firefox.stored("local"), firefox.text_of(page, "#backend-status"))
        time.sleep(0.1)
    settings = firefox.stored("local")
    assert settings["backendUrl"] == live_server.url
    assert "http://127.0.0.1/*" in firefox.origins_granted()
    assert firefox.text_of(page, "#mode-status") == firefox.message("optionsModeServerSaved", live_server.url)
    assert firefox.element(page, "#mode-server").is_selected()
    while "/healthz" not in live_server.requests:
        assert time.monotonic() < deadline, live_server.requests
        time.sleep(0.1)

    _, _, state = firefox.visit(sites.page_url(TPB, "/a/page?q=1"), TPB)
    assert state["text"] == "!", state
    assert state["color"] == RED
    assert f"/api/v1/check?domain={TPB}" in live_server.requests
