"""Fixtures for the real extension in headless Firefox ESR (see harness.py for how and why).

Test sites (thepiratebay.org, cf-shop.com, plain-site.org, ...) resolve to a loopback page server
through `network.dns.localDomains`; the caseflag server is either the real app
(conftest.live_server, DNS from the test DNS server) or a fake that counts every request it gets.
Nothing leaves the machine. Each browser is a fresh profile, ended at teardown.
"""

from __future__ import annotations

import os
from pathlib import Path

from urllib.parse import urlsplit

import pytest
from longest_entry import longest_entry

from .harness import (
    ARTIFACTS_DIR, EXTENSION_DIR, FIREFOX, PROJECT, FakeCaseflagServer, Firefox, SiteServer, extension_errors,
    marionette_driver,
)

SITE_HOSTS = (
    "thepiratebay.org", "www.thepiratebay.org",
    "cf-shop.com", "www.cf-shop.com",
    "plain-site.org", "www.plain-site.org",
    "riaa.com",
    # a name for a caseflag server that is not 127.0.0.1 (the only host granted at install)
    "caseflag-server.example.net",
)
# The listed site with the longest popup, and the issue form's host (a local name here: the tab a
# report opens reaches loopback, never the network).
LONGEST_ENTITY, LONGEST_HOST = longest_entry(EXTENSION_DIR)
SITE_HOSTS += tuple({LONGEST_HOST, urlsplit(PROJECT["issue_form"]).hostname} - set(SITE_HOSTS))


def _require_firefox() -> None:
    """Fails when Firefox ESR is not installed here, whether or not CI is set: a skipped browser test
    would pass a run that tested nothing."""
    if FIREFOX.exists() and os.access(FIREFOX, os.X_OK):
        return
    reason = (f"{FIREFOX} not found: the Firefox tests need Debian's firefox-esr "
              "(make system-deps, or apt-get install firefox-esr; CASEFLAG_FIREFOX points elsewhere)")
    pytest.fail(reason, pytrace=False)


def _require_marionette() -> None:
    try:
        marionette_driver()
    except ImportError:
        pytest.fail("marionette-driver is not installed: pip install -e '.[test]'", pytrace=False)


def _start(lang: str) -> Firefox:
    _require_firefox()
    _require_marionette()
    browser = Firefox(lang, hosts=SITE_HOSTS)
    try:
        browser.start()
        browser.install_extension()
    except BaseException:
        browser.close()
        raise
    return browser


@pytest.fixture(scope="package")
def site_server():
    server = SiteServer()
    yield server
    server.stop()


@pytest.fixture
def sites(site_server):
    site_server.clear()
    return site_server


@pytest.fixture
def fake_server():
    server = FakeCaseflagServer()
    yield server
    server.stop()


@pytest.fixture
def fake_server_no_cors():
    server = FakeCaseflagServer(cors=False)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def firefox_en():
    browser = _start("en")
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def firefox_de():
    browser = _start("de")
    yield browser
    browser.close()


def _in_test(browser: Firefox):
    """Resets the browser for a test; afterwards, fails the test's teardown if the extension's
    own scripts logged an error meanwhile (an uncaught exception, a rejected API call)."""
    seen = len(browser.console_messages())
    browser.reset()
    yield browser
    browser.close_tabs()
    errors = extension_errors(browser.console_messages()[seen:])
    assert errors == [], f"the extension logged errors in Firefox: {errors}"


@pytest.fixture
def firefox(firefox_en):
    """The English Firefox as after a fresh install: no stored options or answers, no tabs."""
    yield from _in_test(firefox_en)


@pytest.fixture
def firefox_german(firefox_de):
    """The same in German."""
    yield from _in_test(firefox_de)


@pytest.fixture
def fresh_firefox():
    """A Firefox of its own, started for this test (to see the install itself)."""
    browser = _start("en")
    yield browser
    browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR

