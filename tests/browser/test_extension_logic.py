"""The extension's pure functions (api.js, common.js), run as modules in an extension page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

WHITE, BLACK = "#ffffff", "#000000"


@pytest.fixture(scope="module")
def run(browser_en):
    """Evaluates a function body with `api` and `common` (the modules) in scope, in the extension."""
    page = browser_en.context.new_page()
    page.goto(browser_en.extension_url("options/options.html"))

    def evaluate(body: str, arg=None):
        return page.evaluate(
            f"""async (arg) => {{
                  const api = await import("/api.js");
                  const common = await import("/common.js");
                  {body}
                }}""",
            arg,
        )

    yield evaluate
    page.close()


def result(level, badge=None, providers=()):
    verdict = {"level": level}
    if badge is not None:
        verdict["badge"] = badge
    return {"hostname": "example.org", "verdict": verdict, "matches": [],
            "infrastructure": {"status": "resolved", "providers": list(providers)}}


@pytest.mark.parametrize(
    ("answer", "badge"),
    [
        (result("target", {"text": "!", "color": "#c62828"}), {"text": "!", "color": "#c62828", "textColor": WHITE}),
        (result("target"), {"text": "", "color": None, "textColor": None}),
        (result("party", {"text": "i", "color": "#1565c0"}), {"text": "i", "color": "#1565c0", "textColor": WHITE}),
        (result("infrastructure", {"text": "", "color": "#f9a825"}, [{"short_label": "CF"}]),
         {"text": "CF", "color": "#f9a825", "textColor": BLACK}),
        (result("infrastructure", {"text": "CF", "color": "red; background: url(x)"}),
         {"text": "", "color": None, "textColor": None}),
        (result("related", {"text": "~", "color": "#78909c"}), {"text": "~", "color": "#78909c", "textColor": BLACK}),
        (result("related"), {"text": "", "color": None, "textColor": None}),
        (result("none", {"text": "", "color": "#757575"}), {"text": "", "color": None, "textColor": None}),
        (result("something-new"), {"text": "", "color": None, "textColor": None}),
    ],
    ids=["target", "target-default", "party", "infrastructure-label", "bad-color", "related", "related-default",
         "none", "unknown-level"],
)
def test_badge_follows_the_verdict(run, answer, badge):
    """The answer's own badge (the server colours it): red "!" for targets, blue for parties, grey "~" for
    related, amber provider label for infrastructure; none for level none or an answer without a well-formed
    badge (the extension holds no badge colours of its own)."""
    assert run("return api.badgeFor(arg);", answer) == badge


def test_sources_in_the_ui_language_come_first(run):
    """Reporting in the UI language first; otherwise the server's order is kept."""
    sources = [{"id": "a", "language": "en"}, {"id": "b", "language": "de"}, {"id": "c", "language": "sv"},
               {"id": "d", "language": "de-AT"}]
    order = run("return api.sortSources(arg, 'de-DE').map((s) => s.id);", sources)
    assert order == ["b", "d", "a", "c"]


def test_only_http_links_are_accepted(run):
    """javascript:, data: and other schemes are never rendered as links."""
    urls = ["https://example.org/a", "http://example.org", "javascript:alert(1)", "data:text/html,x",
            "ftp://example.org", "//example.org", None]
    assert run("return arg.map(api.isHttpUrl);", urls) == [True, True, False, False, False, False, False]


def test_only_the_hostname_of_a_page_is_kept(run):
    """A page URL is reduced to its hostname; other schemes, local and special-use names are not
    sent anywhere."""
    urls = ["https://WWW.Shop-Site.org./a/b?c=d#e", "http://shop-site.org:8080/", "chrome://settings",
            "file:///etc/passwd", "http://localhost:8000/", "http://192.168.1.1/", "http://[::1]/",
            "http://printer.local/", "http://intranet/", "http://router.home.arpa/", "http://x.example.com/",
            "http://site.test/", "http://abcdefgh.onion/", "http://a.alt/", "http://box.internal/",
            "http://nas.lan/", "http://example.net/", "http://notexample.com/"]
    assert run("return arg.map(common.classifyUrl);", urls) == [
        {"hostname": "www.shop-site.org"}, {"hostname": "shop-site.org"}, {"skip": "scheme"}, {"skip": "scheme"},
        {"skip": "local", "hostname": "localhost"}, {"skip": "local", "hostname": "192.168.1.1"},
        {"skip": "local", "hostname": "[::1]"}, {"skip": "local", "hostname": "printer.local"},
        {"skip": "local", "hostname": "intranet"}, {"skip": "local", "hostname": "router.home.arpa"},
        {"skip": "local", "hostname": "x.example.com"}, {"skip": "local", "hostname": "site.test"},
        {"skip": "local", "hostname": "abcdefgh.onion"}, {"skip": "local", "hostname": "a.alt"},
        {"skip": "local", "hostname": "box.internal"}, {"skip": "local", "hostname": "nas.lan"},
        {"skip": "local", "hostname": "example.net"}, {"hostname": "notexample.com"},
    ]


def test_backend_addresses_are_normalised(run):
    """A backend address keeps scheme, host, port and path prefix; its permission covers the host."""
    inputs = ["http://127.0.0.1:8000/", " https://caseflag.example.org/base/ ", "ftp://x.org",
              "http://user:pw@x.org", "not a url"]
    assert run("return arg.map(common.normalizeBackendUrl);", inputs) == [
        {"url": "http://127.0.0.1:8000", "origin": "http://127.0.0.1:8000", "permission": "http://127.0.0.1/*"},
        {"url": "https://caseflag.example.org/base", "origin": "https://caseflag.example.org",
         "permission": "https://caseflag.example.org/*"},
        None, None, None,
    ]


def test_a_paused_site_covers_its_subdomains_only(run):
    """Pausing example.org covers www.example.org but not badexample.org."""
    hosts = ["example.org", "www.example.org", "badexample.org", "example.org.evil.com"]
    assert run("return arg.map((h) => common.pausedEntryFor(h, ['example.org']));", hosts) == [
        "example.org", "example.org", None, None]


def test_answers_without_a_verdict_are_rejected(run):
    """An answer that breaks the contract is an error of kind 'invalid', not a verdict."""
    outcome = run("""try { api.validateResult(arg); return null; }
                     catch (err) { return [err.name, err.kind]; }""", {"hostname": "x.org", "verdict": {}})
    assert outcome == ["BackendError", "invalid"]


def test_the_tooltip_of_a_related_site_names_both_entities(run):
    """titleFor names the site's entity and the related one that is in cases, not one that is not."""
    answer = result("related")
    answer["matches"] = [{"entity": {"name": "MEGA"}, "matched_by": "registrable_domain", "related": [
        {"name": "Mirror Without Cases", "relation": "mirror", "cases": []},
        {"name": "Megaupload", "relation": "predecessor", "cases": [{"id": "c", "role": "defendant"}]},
    ]}]
    assert run("return api.titleFor(api.validateResult(arg));", answer) == [
        "titleRelated", ["example.org", "MEGA", "Megaupload"]]
    answer["matches"][0]["related"] = []
    assert run("return api.titleFor(api.validateResult(arg));", answer) == ["titleRelatedNoName", ["example.org"]]
