"""The settings page in real Firefox, used as a person does: choosing the server saves nothing;
Save asks for the server's host permission inside the click and switches to server mode; the connection box asks for webRequest,
after which the built-in list reads the CDN from the browser's own response headers."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.firefox

RED = [0xC6, 0x28, 0x28, 255]
AMBER = [0xF9, 0xA8, 0x25, 255]
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

    # Choosing the server saves nothing and asks nothing; Save does both.
    firefox.element(page, "#mode-server").click()
    assert firefox.text_of(page, "#backend-status") == firefox.message("optionsModeUnsaved")
    assert firefox.stored("local") == {}
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
    assert firefox.send_consent() is True  # asked for with the host: the sites visited are sent from now on
    assert firefox.element(page, "#mode-server").is_selected()
    while "/healthz" not in live_server.requests:
        assert time.monotonic() < deadline, live_server.requests
        time.sleep(0.1)
    saved = firefox.message("optionsStatusSavedOk", live_server.url)
    while not (firefox.text_of(page, "#backend-status") or "").startswith(saved):
        assert time.monotonic() < deadline, firefox.text_of(page, "#backend-status")
        time.sleep(0.1)

    _, _, state = firefox.visit(sites.page_url(TPB, "/a/page?q=1"), TPB)
    assert state["text"] == "!", state
    assert state["color"] == RED
    assert f"/api/v1/check?domain={TPB}" in live_server.requests


def test_the_connection_permission_lets_the_built_in_list_name_the_cdn(firefox, sites, fake_server):
    """In built-in mode a Cloudflare-served site gets no badge: the list makes no DNS lookups.
    Ticking the settings page's connection box asks for webRequest and all hosts inside the click
    (granted here without the doorhanger); from then on the browser's own response headers
    (`server: cloudflare`, `cf-ray`) give the amber CF badge, still with no request to any server."""
    firefox.set_options(backendUrl=fake_server.url)  # built-in mode; a request would be counted
    _, _, state = firefox.visit(sites.page_url("cf-shop.com", "/"), "cf-shop.com")
    assert state["text"] == "", state

    page = firefox.open_tab(firefox.extension_url("options/options.html"))
    assert not firefox.element(page, "#connection").is_selected()
    firefox.element(page, "#connection").click()
    deadline = time.monotonic() + 15
    while firefox.text_of(page, "#connection-status") != firefox.message("optionsConnectionOn"):
        assert time.monotonic() < deadline, firefox.text_of(page, "#connection-status")
        time.sleep(0.1)
    assert firefox.element(page, "#connection").is_selected()
    assert firefox.ext('return await browser.permissions.contains({ permissions: ["webRequest"] });') is True

    _, tab, state = firefox.visit(sites.page_url("www.cf-shop.com", "/"), "www.cf-shop.com")
    assert state["text"] == "CF", state
    assert state["color"] == AMBER
    assert state["title"] == firefox.message("titleInfrastructure", "www.cf-shop.com", "Cloudflare")
    assert fake_server.requests == []
