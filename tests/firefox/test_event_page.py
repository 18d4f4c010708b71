"""Firefox runs the MV3 background as an event page that it stops when idle: answers and badges
must survive that, and the next page load must start it again."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.firefox

PAGE_PATH = "/some/path?secret=s3cr3t#frag"
TPB = "www.thepiratebay.org"


def asked_about(requests: list[str], host: str) -> int:
    return sum(1 for target in requests if urlsplit(target).path == "/api/v1/check"
               and parse_qs(urlsplit(target).query).get("domain") == [host])


def test_a_stopped_event_page_keeps_badges_and_answers_and_wakes_for_the_next_page(
        firefox, sites, live_server):
    """In server mode: a target's badge and the stored answer outlive the stopped background;
    the popup still shows the verdict; revisiting the target asks the server nothing more; a new
    site starts the background again and gets its own verdict."""
    firefox.grant_send_consent()  # as saving the address in the settings does
    firefox.set_options(mode="server", backendUrl=live_server.url)
    _, tab, state = firefox.visit(sites.page_url(TPB, PAGE_PATH), TPB)
    assert state["text"] == "!", state
    assert asked_about(live_server.requests, TPB) == 1

    # stop_background() checks that it stopped; an event (the tab's late favicon, say) may start
    # it again at once, so its state is not asserted here.
    firefox.stop_background()
    assert firefox.action(tab)["text"] == "!"  # the browser keeps the tab's badge

    popup = firefox.popup(tab)  # its message wakes the background, which reads storage.session
    assert firefox.text_of(popup, "#verdict-title") == firefox.message("verdictTitle_target")
    assert firefox.background_state() == "running"

    firefox.stop_background()
    _, _, state = firefox.visit(sites.page_url(TPB, "/another/page"), TPB)
    assert state["text"] == "!", state
    assert asked_about(live_server.requests, TPB) == 1  # answered from storage.session

    firefox.stop_background()
    _, _, state = firefox.visit(sites.page_url("plain-site.org", PAGE_PATH), "plain-site.org")
    assert state["text"] == "", state
    assert state["title"] == firefox.message("titleNone", "plain-site.org")
    assert firefox.background_state() == "running"
    assert asked_about(live_server.requests, "plain-site.org") == 1


def test_a_page_whose_view_a_stopped_worker_never_showed_gets_it_at_its_next_update(firefox, sites):
    """A worker stopped after storing a tab's record but before showing its view leaves the button
    blank (made here by blanking it, then stopping the worker). The tab's next status change
    (here a same-page navigation, which commits nothing) starts a worker that shows it."""
    page, tab, state = firefox.visit(sites.page_url(TPB, "/a"), TPB)
    shown = (state["text"], state["title"])
    assert shown[0] == "!", state
    firefox.ext("""const [tabId] = args;
                   await browser.action.setBadgeText({ tabId, text: "" });
                   await browser.action.setTitle({ tabId, title: null });
                   return true;""", tab)
    firefox.stop_background()
    assert firefox.action(tab)["text"] == ""

    firefox.client.switch_to_window(page, focus=False)
    firefox.client.execute_script("history.pushState({}, '', '/b'); location.hash = 'x';")
    state = firefox.wait_checked(tab, TPB, title=shown[1])
    assert state["text"] == "!", state
