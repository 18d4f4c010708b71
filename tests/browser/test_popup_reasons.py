"""The popup words the verdict's reasons in the browser's language from the catalogue (_locales, generated
from server/caseflag/messages/): a German Chromium reads them German, from the built-in list and from the
server alike; screenshot test-artifacts/popup-de-reasons.png."""

from __future__ import annotations

import pytest

from caseflag.core.messages import render

pytestmark = pytest.mark.browser


def reasons_of(popup) -> list[str]:
    popup.evaluate("() => { document.getElementById('reasons-box').open = true; }")
    return popup.locator("#reasons li").all_inner_texts()


def test_german_reasons_from_the_built_in_list(browser_de, artifacts):
    browser_de.reset()
    _, tab, state = browser_de.visit("thepiratebay.org")
    assert state["text"] == "!"
    popup = browser_de.popup(tab)
    reasons = reasons_of(popup)
    assert reasons[0].startswith("thepiratebay.org gehört zu The Pirate Bay, im Verfahren „"), reasons
    assert reasons[-1] == render("infrastructure_no_permission", {}, "de")
    assert not any("belongs to" in reason or "Infrastructure" in reason for reason in reasons)
    popup.screenshot(path=str(artifacts / "popup-de-reasons.png"), full_page=True)
    browser_de.close_pages()


def test_german_reasons_from_the_server(browser_de, live_server, artifacts):
    """The server's explanations, worded by the popup in German (the sentences beside them are the server's)."""
    browser_de.reset(live_server.url)
    _, tab, _ = browser_de.visit("www.thepiratebay.org")
    popup = browser_de.popup(tab)
    reasons = reasons_of(popup)
    assert reasons[0].startswith("thepiratebay.org gehört zu The Pirate Bay"), reasons
    assert any(reason.startswith("Ausgeliefert von Cloudflare: 104.21.16.1 liegt in seinem") for reason in reasons)
    assert any(reason.startswith("Cloudflare wurde wegen Websites seiner Kunden verklagt") for reason in reasons)
    popup.screenshot(path=str(artifacts / "popup-de-reasons-server.png"), full_page=True)
    browser_de.close_pages()


def test_a_dns_failure_from_the_server_in_german(browser_de, live_server):
    """The server's DNS failure (SERVFAIL) is a code and params the popup words in German, like any reason."""
    browser_de.reset(live_server.url)
    _, tab, _ = browser_de.visit("servfail.com")
    popup = browser_de.popup(tab)
    reasons = reasons_of(popup)
    expected = render("infrastructure_reason", {"status": "unavailable", "reason_code": "servfail",
                                                "name": "servfail.com", "rdtype": "A", "rcode": "SERVFAIL"}, "de")
    assert expected.startswith("Infrastruktur unbekannt: Der DNS-Server konnte für servfail.com keine Antwort")
    assert reasons[-1] == expected, reasons
    assert not any("Infrastructure" in reason or "failed to answer" in reason for reason in reasons)
    # The infrastructure section shows the server's reason as it came: in German, the browser's Accept-Language.
    status = popup.locator("#infra-status").inner_text()
    reason = render("reason.servfail", {"name": "servfail.com", "rcode": "SERVFAIL"}, "de")
    assert status == browser_de.message("infraUnavailable", reason), status
    assert "failed to answer" not in status
    browser_de.close_pages()


def test_a_special_use_name_is_described_as_what_it_is(browser_de, page_server):
    """caseflag.test is never checked; the popup says it is reserved for testing, not 'a local address' alone."""
    browser_de.reset()
    _, tab, _ = browser_de.visit("caseflag.test")
    popup = browser_de.popup(tab)
    detail = popup.locator("#notice-detail").inner_text()
    assert detail == render("error.special_use", {"name": "caseflag.test", "suffix": "test", "kind": "reserved"}, "de")
    assert "für Beispiele, Dokumentation und Tests reserviert" in detail
    browser_de.close_pages()
