"""How long the service worker keeps the server's answers in storage.session: five minutes for one
whose infrastructure is unavailable (DNS may be back soon), six hours for a whole one; an expired
answer is asked for again."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.browser

MINUTES = 60 * 1000


@pytest.fixture
def browser(server_browser):
    return server_browser


def _asked(requests: list[str], host: str) -> int:
    return sum(1 for target in requests if urlsplit(target).path == "/api/v1/check"
               and parse_qs(urlsplit(target).query)["domain"] == [host])


def test_an_unavailable_answer_is_kept_five_minutes_and_a_whole_one_six_hours(browser, live_server):
    browser.visit("servfail.com")
    browser.visit("thepiratebay.org")
    stored = browser.stored_answers()
    partial, whole = stored["host:servfail.com"], stored["host:thepiratebay.org"]
    assert partial["result"]["infrastructure"]["status"] == "unavailable"
    assert partial["expires"] - partial["savedAt"] == 5 * MINUTES
    assert whole["result"]["infrastructure"]["status"] == "resolved"
    assert whole["expires"] - whole["savedAt"] == 6 * 60 * MINUTES


def test_an_expired_answer_is_asked_for_again(browser, live_server):
    """Within its lifetime a revisit asks nothing; once it has passed (the stored expiry moved to
    just before now, as five minutes would), the next visit asks the server again."""
    browser.visit("servfail.com")
    browser.visit("servfail.com")
    assert _asked(live_server.requests, "servfail.com") == 1
    browser.worker.evaluate("""async () => {
        const entry = (await chrome.storage.session.get("host:servfail.com"))["host:servfail.com"];
        await chrome.storage.session.set({"host:servfail.com": {...entry, expires: Date.now() - 1}});
    }""")
    browser.visit("servfail.com")
    assert _asked(live_server.requests, "servfail.com") == 2
