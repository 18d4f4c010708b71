"""Firefox: the German popup words the built-in list's reasons in German from the catalogue in _locales;
screenshot test-artifacts/firefox-popup-de-reasons.png."""

from __future__ import annotations

import pytest

from caseflag.core.messages import render

pytestmark = pytest.mark.firefox

TPB = "www.thepiratebay.org"


def test_german_reasons(firefox_german, sites, artifacts):
    _, tab, state = firefox_german.visit(sites.page_url(TPB, "/x"), TPB)
    assert state["text"] == "!", state
    popup = firefox_german.popup(tab)
    reasons = firefox_german.in_page(popup, """
        document.getElementById('reasons-box').open = true;
        return [...document.querySelectorAll('#reasons li')].map((li) => li.textContent);""")
    firefox_german.screenshot(popup, artifacts / "firefox-popup-de-reasons.png")
    assert reasons[0].startswith("thepiratebay.org gehört zu The Pirate Bay, im Verfahren „"), reasons
    assert reasons[-1] == render("infrastructure_no_permission", {}, "de")
    assert not any("belongs to" in reason for reason in reasons)
