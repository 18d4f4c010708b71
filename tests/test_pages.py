"""The browsable dataset: HTML structure and content through the test client, then real headless Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from caseflag.web.pages import is_http_url

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Elements whose end tag HTML lets you leave out; our templates close them anyway, so they are checked too.


class Page(HTMLParser):
    """Parses a page and records what the structure checks need: problems, ids, labels, links."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype = ""
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.labels_for: set[str] = set()
        self.fields: list[dict] = []
        self.forms: list[dict] = []
        self.links: list[tuple[str, str]] = []
        self.html_attrs: dict = {}
        self.metas: list[dict] = []
        self.scripts = 0
        self.text_parts: list[str] = []
        self._link: list[str] | None = None
        self.feed(html)
        self.close()
        if self.stack:
            self.problems.append(f"unclosed elements at the end: {self.stack}")

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "html":
            self.html_attrs = attrs
        elif tag == "meta":
            self.metas.append(attrs)
        elif tag == "script":
            self.scripts += 1
        elif tag == "label" and "for" in attrs:
            self.labels_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.fields.append(attrs)
        elif tag == "form":
            self.forms.append(attrs)
        elif tag == "a":
            self._link = [attrs.get("href", "")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void element <{tag}>")
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join("".join(self._link[1:]).split())))
            self._link = None

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._link is not None:
            self._link.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())


def get_page(client, url: str, status: int = 200) -> Page:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


def assert_well_formed(page: Page, url: str) -> None:
    assert page.doctype.lower() == "doctype html", url
    assert page.html_attrs.get("lang") == "en", url
    assert {"charset": "utf-8"} in page.metas, url
    assert any(m.get("name") == "viewport" and "width=device-width" in m.get("content", "") for m in page.metas), url
    assert not page.problems, (url, page.problems)
    assert len(page.ids) == len(set(page.ids)), (url, "duplicate ids")
    assert page.scripts == 0, (url, "pages need no JavaScript")
    for field in page.fields:
        assert field.get("id") in page.labels_for, (url, f"field {field} has no label")
    for href, text in page.links:
        assert text, (url, href, "a link without text")
        assert href.startswith(("/", "#")) or is_http_url(href), (url, href)


def all_page_urls(client) -> list[str]:
    entities = client.get("/api/v1/entities").get_json()["entities"]
    cases = client.get("/api/v1/cases").get_json()["cases"]
    lookups = ["www.thepiratebay.org", "www.cf-shop.com", "mega.nz", "1.1.1.1", "plain-site.org", "thepiratebay.se"]
    return (["/"] + [f"/lookup?domain={domain}" for domain in lookups]
            + [f"/entities/{e['id']}" for e in entities] + [f"/cases/{c['id']}" for c in cases])


# --- structure, without a browser -------------------------------------------------------------

def test_every_page_is_well_formed_with_labels_and_safe_links(app_factory):
    """Every entity and case page, the overview and two lookups: doctype, lang, viewport, nesting, labels."""
    # one request per record: with several hundred records the default rate limit would answer 429
    client = app_factory(RATE_LIMIT="").test_client()
    for url in all_page_urls(client):
        assert_well_formed(get_page(client, url), url)
    for url, status in [("/lookup?domain=localhost", 422), ("/lookup?domain=bad+domain", 400),
                        ("/lookup", 400), ("/entities/no-such", 404), ("/cases/no-such", 404)]:
        assert_well_formed(get_page(client, url, status), url)


def test_the_structure_check_itself_catches_broken_html():
    broken = Page('<!doctype html><html lang="en"><body><p><b>x</p><input id="q"></body></html>')
    assert broken.problems
    with pytest.raises(AssertionError):
        assert_well_formed(broken, "broken")


def test_overview_counts_cases_and_entities(client):
    page = get_page(client, "/")
    counts = client.get("/api/v1/dataset").get_json()["counts"]
    assert f"{counts['entities']} entities" in page.text and f"{counts['cases']} cases" in page.text
    links = dict((href, text) for href, text in page.links)
    for case in client.get("/api/v1/cases").get_json()["cases"]:
        assert links[f"/cases/{case['id']}"] == " ".join(case["title"].split())
    for entity in client.get("/api/v1/entities").get_json()["entities"]:
        assert links[f"/entities/{entity['id']}"] == entity["name"]
    assert page.forms == [{"class": "lookup", "action": "/lookup", "method": "get", "role": "search"}]
    assert page.fields[0]["name"] == "domain" and page.fields[0]["id"] == "domain"


def test_lookup_shows_what_the_popup_shows(client):
    page = get_page(client, "/lookup?domain=https://www.thepiratebay.org/search")
    text = page.text
    assert "Target of copyright enforcement" in text
    assert "This site belongs to The Pirate Bay, against which copyright-enforcement cases were brought." in text
    assert "Registrable domain: thepiratebay.org" in text
    assert "Subject" in text and "matched by its domain thepiratebay.org" in text
    assert ("/entities/the-pirate-bay", "The Pirate Bay") in page.links
    assert any(href == "/cases/pirate-bay-trial-sweden" for href, _ in page.links)
    assert "Served by Cloudflare: 104.21.16.1 is in its published range 104.16.0.0/13" in text
    assert "Reasons" in text and "belongs to The Pirate Bay" in text
    assert "Former domain: thepiratebay.ac, thepiratebay.am" in text and "and 5 more" in text
    assert any(is_http_url(href) for href, _ in page.links), "reporting is linked"
    assert page.fields[0].get("value") == "https://www.thepiratebay.org/search", "the form keeps the input"


def test_lookup_of_a_related_site_names_the_chain_and_its_cases(client):
    page = get_page(client, "/lookup?domain=mega.nz")
    text = page.text
    assert "Related to an entity named in copyright cases" in text
    assert ("This site belongs to MEGA, which is named in no case itself. It is the successor of Megaupload, "
            "which is named in copyright-enforcement cases") in text
    assert ("/entities/megaupload", "Megaupload") in page.links
    assert any(href == "/cases/united-states-v-dotcom" for href, _ in page.links)
    entity = get_page(client, "/entities/mediaservices").text
    assert "The operator of AllofMP3" in entity


def test_lookup_words_for_unknown_and_missing_infrastructure(client, offline_app):
    missing = get_page(client, "/lookup?domain=nothing-here-at-all.com").text
    assert "The name does not exist in DNS (NXDOMAIN)." in missing
    assert "Nothing known" in get_page(client, "/lookup?domain=plain-site.org").text
    down = get_page(offline_app.test_client(), "/lookup?domain=plain-site.org").text
    assert "Unknown: DNS could not be asked" in down and "Who serves it is unknown" in down


def test_a_source_without_an_address_is_text_not_a_link(client):
    # The CMU seed's own address is not known (see data/sources/cmu-2018-cloudflare-settles-als-scan.toml).
    case = client.get("/api/v1/cases/als-scan-v-cloudflare").get_json()
    unlinked = [s for s in case["sources"] if "url" not in s]
    assert unlinked, "the dataset has a source without url for this case"
    page = get_page(client, "/cases/als-scan-v-cloudflare")
    for source in unlinked:
        assert source["title"] in page.text and source["publisher"] in page.text
        assert source["title"] not in [text for _, text in page.links]
    assert "No web address" in page.text


@pytest.mark.parametrize("value, expected", [
    ("https://example.com/a", True), ("http://example.com", True), ("javascript:alert(1)", False),
    ("data:text/html,x", False), ("/relative", False), ("ftp://example.com/x", False), ("https://", False),
    (None, False)])
def test_only_http_addresses_become_links(value, expected):
    assert is_http_url(value) is expected


def test_entity_and_case_pages_show_roles_dates_status_and_sources(client):
    entity = get_page(client, "/entities/the-pirate-bay").text
    assert "Roles in cases" in entity and "Subject" in entity and "thepiratebay.se" in entity
    assert "Sources" in entity and "Last reviewed" in entity
    case = get_page(client, "/cases/pirate-bay-trial-sweden")
    assert "Criminal case" in case.text and "Decided" in case.text and "2009-04-17" in case.text
    assert "convicted" in case.text and "Defendant" in case.text
    assert ("/entities/peter-sunde", "Peter Sunde") in case.links


@pytest.mark.parametrize("url, status, message", [
    ("/lookup?domain=localhost", 422, "not a public Internet name"),
    ("/lookup?domain=co.uk", 422, "public suffix"),
    ("/lookup?domain=bad+domain", 400, "spaces or control characters"),
    ("/lookup?domain=", 400, "Type a domain or URL"),
    ("/entities/no-such", 404, "No entity with the id 'no-such'"),
    ("/cases/no-such", 404, "No case with the id 'no-such'"),
])
def test_refusals_and_unknown_ids_are_pages_with_the_message(client, url, status, message):
    page = get_page(client, url, status)
    assert message in page.text


def test_input_is_escaped_never_markup(client):
    response = client.get("/lookup", query_string={"domain": '<script>alert("x")</script>'})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "&lt;script&gt;" in html


# --- real Chromium --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (or apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.mark.browser
def test_lookup_form_works_without_javascript(chromium, live_server):
    """Fill the labelled field, submit, read the verdict; JavaScript is off; a screenshot is saved."""
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.title().startswith("caseflag")
    assert page.locator("h2#cases-heading").inner_text() == "Cases"
    page.get_by_label("Domain or URL to check").fill("www.thepiratebay.org")
    with page.expect_navigation():
        page.get_by_role("button", name="Check").click()
    assert page.url == live_server.url + "/lookup?domain=www.thepiratebay.org"
    verdict = page.locator("section.verdict")
    assert verdict.get_attribute("data-level") == "target"
    assert verdict.locator("h2").inner_text() == "Target of copyright enforcement"
    assert "Served by Cloudflare" in page.locator("ul.providers").inner_text()
    hrefs = page.locator("ul.sources a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs and all(href.startswith(("https://", "http://")) for href in hrefs)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pages-lookup.png"), full_page=True)
    assert (ARTIFACTS / "pages-lookup.png").stat().st_size > 10_000

    page.get_by_role("link", name="The Pirate Bay", exact=True).first.click()
    assert page.url.endswith("/entities/the-pirate-bay")
    page.get_by_role("link", name=re.compile("The Pirate Bay trial")).first.click()
    assert page.url.endswith("/cases/pirate-bay-trial-sweden")
    assert page.locator("h1").inner_text().startswith("The Pirate Bay trial")
    context.close()


@pytest.mark.browser
def test_refused_input_shows_the_message_and_status(chromium, live_server):
    context = chromium.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("Domain or URL to check").fill("localhost")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Check").click()
    assert navigation.value.status == 422
    assert "not a public Internet name" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Domain or URL to check").input_value() == "localhost"
    response = page.goto(live_server.url + "/cases/no-such-case")
    assert response.status == 404 and page.locator("h1").inner_text() == "Not found"
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/lookup?domain=www.thepiratebay.org", "/cases/bridal-makers-v-cloudflare",
                                  "/entities/cloudflare"])
def test_pages_fit_a_phone_screen(chromium, live_server, path):
    """At 390 px with mobile emulation the layout is the device width and nothing scrolls sideways."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   device_scale_factor=2)
    page = context.new_page()
    page.goto(live_server.url + path)
    width, scroll_width = page.evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
    assert width == 390, "the viewport meta tag makes the layout as wide as the device"
    assert scroll_width <= width, f"{path} is {scroll_width}px wide"
    context.close()
