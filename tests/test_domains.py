"""Host name parsing: one normalised Hostname from any form a user or browser gives."""

import idna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseflag.core.domains import Hostname, SuffixList, parse
from caseflag.core.errors import InvalidDomain, NotPublicName


@pytest.mark.parametrize(
    ("text", "name", "registrable"),
    [
        ("thepiratebay.org", "thepiratebay.org", "thepiratebay.org"),
        ("HTTPS://WWW.ThePirateBay.org/x?q=1#frag", "www.thepiratebay.org", "thepiratebay.org"),
        ("user:secret@Shop-Site.COM.:8080/path", "shop-site.com", "shop-site.com"),
        ("www.example.co.uk.", "www.example.co.uk", "example.co.uk"),
        ("//cdn.shop-site.com/lib.js", "cdn.shop-site.com", "shop-site.com"),
        ("a.b.c.mm", "a.b.c.mm", "b.c.mm"),  # wildcard rule *.mm
        ("www.city.kobe.jp", "www.city.kobe.jp", "city.kobe.jp"),  # exception rule !city.kobe.jp
        ("www.食狮.公司.cn", "www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"),
        ("WWW.XN--85X722F.xn--55qx5d.cn", "www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"),
        ("Bücher.de", "xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("someone.github.io", "someone.github.io", "someone.github.io"),  # private suffix
    ],
)
def test_normalises_and_finds_registrable_domain(text, name, registrable):
    """Case, scheme, userinfo, port, path, trailing dot and IDN collapse to one name."""
    hostname = parse(text)
    assert hostname.name == name
    assert hostname.registrable_domain == registrable
    assert not hostname.is_ip


def test_kobe_public_suffix_is_kobe_jp():
    """The wildcard *.kobe.jp with its !city.kobe.jp exception leaves kobe.jp as the suffix."""
    assert parse("www.city.kobe.jp").public_suffix == "kobe.jp"
    assert parse("www.other.kobe.jp").registrable_domain == "www.other.kobe.jp"


def test_unicode_form_is_kept_for_display():
    """The punycode name is what we match on; the Unicode form is for people."""
    assert parse("www.食狮.公司.cn").unicode == "www.食狮.公司.cn"


@pytest.mark.parametrize(("text", "name"), [("8.8.8.8", "8.8.8.8"), ("[2606:4700::1]:443", "2606:4700::1"),
                                            ("https://[2606:4700:0::1]/x", "2606:4700::1")])
def test_public_ip_literals_are_accepted(text, name):
    """A public IP literal is its own host, with no registrable domain."""
    hostname = parse(text)
    assert hostname.is_ip and hostname.name == name and hostname.registrable_domain is None


@pytest.mark.parametrize(
    "text",
    ["localhost", "intranet", "printer.local", "db.internal", "co.uk", "com", "example.invalidtld",
     "10.0.0.1", "127.0.0.1", "[::1]", "http://[::1]/", "169.254.1.1", "192.168.0.1", "fe80::1", "0.0.0.0",
     "240.0.0.1"],
)
def test_non_public_names_are_refused(text):
    """Names without a public suffix, bare suffixes and non-public addresses are refused."""
    with pytest.raises(NotPublicName):
        parse(text)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "exa mple.com", "a..b.com", ".example.com", "-bad.com", "bad-.com", "ex!ample.com",
     "x" * 64 + ".com", ".".join(["a" * 60] * 5) + ".com", "tab\there.com", "nul\x00.com",
     "[2606:4700::1", "example.com:port", "x" * 5000],
)
def test_malformed_input_is_refused_with_a_message(text):
    """Empty, overlong, badly formed names get InvalidDomain with a readable message."""
    with pytest.raises(InvalidDomain) as info:
        parse(text)
    assert info.value.message


@pytest.mark.parametrize(("text", "kind", "english", "german"), [
    ("shop.onion.example", "reserved", "reserved for examples, documentation and testing",
     "für Beispiele, Dokumentation und Tests reserviert"),
    ("printer.home.arpa", "arpa", "DNS's own infrastructure", "DNS-eigenen Infrastruktur"),
    ("1.0.0.127.in-addr.arpa", "arpa", "reverse lookups", "Rückwärtsauflösung"),
    ("8.b.d.0.1.0.0.2.ip6.arpa", "arpa", "reverse lookups", "Rückwärtsauflösung"),
    ("resolver.arpa", "arpa", "infrastructure", "Infrastruktur"),
    ("example.com", "reserved", "examples", "Beispiele"), ("www.example.org", "reserved", "examples", "Beispiele"),
    ("https://example.net/x", "reserved", "examples", "Beispiele"), ("site.example", "reserved", "examples", "Beispiele"),
    ("shop.test", "reserved", "testing", "Tests"), ("WWW.Shop.TEST.", "reserved", "testing", "Tests"),
    ("x.invalid", "reserved", "testing", "Tests"), ("db.internal", "local", "a local network name", "lokalen Netz"),
    ("home.alt", "alt", "name systems outside DNS", "außerhalb des DNS"),
    ("printer.local", "local", "a local network name", "lokalen Netz"),
    ("a.localhost", "local", "a local network name", "lokalen Netz"),
    ("localhost", "local", "localhost is a local network name, not", "lokalen Netz"),
])
def test_special_use_names_are_not_public(text, kind, english, german):
    """IANA's special-use and locally served names are refused, described as what they are, in both languages."""
    with pytest.raises(NotPublicName) as info:
        parse(text)
    assert info.value.key.startswith("error.special_use") and info.value.params["kind"] == kind
    assert english in info.value.message and "local address" not in info.value.message
    assert german in info.value.message_in("de")


def test_a_single_label_is_not_public():
    with pytest.raises(NotPublicName) as info:
        parse("intranet")
    assert info.value.message == "intranet is a single label, not a public Internet name."


@pytest.mark.parametrize(("text", "name", "registrable"), [
    ("shop.onion", "shop.onion", "shop.onion"),
    ("http://www.Shop.ONION/", "www.shop.onion", "shop.onion"),
])
def test_onion_names_parse_but_are_never_resolved(text, name, registrable):
    """An onion name may be listed, so it parses, marked as never resolved (RFC 7686)."""
    hostname = parse(text)
    assert (hostname.name, hostname.registrable_domain, hostname.never_resolved) == (name, registrable, True)
    assert parse("thepiratebay.org").never_resolved is False


@pytest.mark.parametrize(("text", "words"), [
    ("thepiratebay.org:99999", "out of range"), ("thepiratebay.org:65536", "out of range"),
    ("thepiratebay.org:0", "out of range"), ("https://thepiratebay.org:0/x", "out of range"),
    ("thepiratebay.org:", "Nothing follows"), ("http://thepiratebay.org:/", "Nothing follows"),
    ("thepiratebay.org:80x", "not a number"), ("thepiratebay.org:８０", "not a number"),
    ("[2606:4700::1]:70000", "out of range"), ("[2606:4700::1]:", "Nothing follows"),
    ("[2606:4700::1]junk", "Unexpected text"), ("[2606:4700::1]]", "Unexpected text"),
    ("[thepiratebay.org]", "only hold an IPv6"), ("[]", "hold nothing"), ("[[2606:4700::1]]", "only hold"),
    ("2606:4700::1]", "bracket"), ("thepiratebay.org]:80", "bracket"),
    ("th%65piratebay.org", "percent-encoding"), ("https://user@th%65piratebay.org/", "percent-encoding"),
    ("http://evil.com\\@thepiratebay.org/", "backslash"), ("https://user:pw@", "empty"),
])
def test_malformed_url_parts_say_what_is_wrong(text, words):
    """Every part cut from a URL must be well formed; the message names the bad part."""
    with pytest.raises(InvalidDomain) as info:
        parse(text)
    assert words in info.value.message


@pytest.mark.parametrize("text", ["thepiratebay.org:1", "thepiratebay.org:65535", "thepiratebay.org:0443",
                                  "[2606:4700::1]:443", "u@v@thepiratebay.org"])
def test_valid_ports_and_userinfo_are_accepted(text):
    assert parse(text).registrable_domain in ("thepiratebay.org", None)


def test_candidates_walk_from_host_to_registrable_domain():
    """Matching tries the host, then each parent, and stops at the registrable domain."""
    assert parse("a.b.thepiratebay.org").candidates() == ["a.b.thepiratebay.org", "b.thepiratebay.org",
                                                           "thepiratebay.org"]
    assert parse("thepiratebay.org.evil.com").candidates()[-1] == "evil.com"


def test_classmethod_matches_module_function():
    assert Hostname.parse("Shop-Site.com") == parse("shop-site.com")


# --- SuffixList.is_registrable: the per-parent shortcut must answer exactly as the full split ---

GENERIC_LABELS = ("caseflag-probe", "www", "city", "a", "0", "a-b", "_dmarc", "xn--bcher-kva", "blogspot")


def _full_answer(suffixes: SuffixList, name: str) -> bool:
    return suffixes.split(name)[1] == name


def _ascii(name: str) -> str | None:
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None


@pytest.mark.parametrize("include_private", [True, False])
def test_is_registrable_agrees_with_split_under_every_rule(include_private):
    """Under each rule and each parent of one: its own children (exact, wildcard, exception rules:
    *.ck with !www.ck, *.kobe.jp with !city.kobe.jp, blogspot.com, …) and generic labels."""
    suffixes = SuffixList(include_private=include_private)
    rules = [rule.removeprefix("!").removeprefix("*.") for rule in suffixes.tlds]
    children: dict[str, set[str]] = {}
    for rule in rules:
        labels = rule.split(".")
        for index in range(len(labels)):
            children.setdefault(".".join(labels[index + 1:]), set()).add(labels[index])
    checked = 0
    for parent, labels in children.items():
        # generic labels first, so the parent's answer is cached before its special children ask
        for label in (*GENERIC_LABELS, *sorted(labels)):
            name = _ascii(f"{label}.{parent}" if parent else label)
            if name is None or "." not in name:
                continue
            assert suffixes.is_registrable(name) == _full_answer(suffixes, name), name
            checked += 1
    assert checked > 5_000


_RULE_LABELS = sorted({label.removeprefix("!") for rule in SuffixList().tlds for label in rule.split(".")
                       if label.isascii() and label != "*"})
_LABELS = st.one_of(st.sampled_from(_RULE_LABELS), st.sampled_from(GENERIC_LABELS),
                    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True))
_NAMES = st.lists(_LABELS, min_size=2, max_size=5).map(".".join)
_SHARED = SuffixList()  # one instance across examples, so answers cached by earlier names are reused


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NAMES)
def test_is_registrable_agrees_with_split_on_random_names(name):
    """Names built from the list's own labels, in any order and depth."""
    assert _SHARED.is_registrable(name) == _full_answer(_SHARED, name), name


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_NAMES, max_size=8))
def test_all_registrable_agrees_with_split_on_lists(names):
    assert _SHARED.all_registrable(names) == all(_full_answer(_SHARED, name) for name in names), names


def test_a_long_list_takes_a_split_per_parent_not_per_name(monkeypatch):
    """A million-name list asks in one call: it must not take a million full splits."""
    suffixes = SuffixList()
    names = [f"site{n}.co.uk" for n in range(3_000)] + [f"site{n}.com" for n in range(3_000)]
    split, asked = suffixes.split, []
    monkeypatch.setattr(suffixes, "split", lambda name: asked.append(name) or split(name))
    assert suffixes.all_registrable(names) and len(asked) == 2


@pytest.mark.parametrize("odd", ["xn--bcher-kva.de", "www.ck", "foo.ck", "me.blogspot.com", "blogspot.com",
                                 "city.kobe.jp", "other.kobe.jp", "a.xn--p1ai", "xn--p1ai", "co.uk"])
def test_names_a_rule_reaches_into_take_the_full_split_alone(odd, monkeypatch):
    """Punycode and names a rule reaches into are split one by one; the rest of a long list still
    goes by its parents, and the answer is the per-name one either way."""
    suffixes = SuffixList()
    names = [f"site{n}.co.uk" for n in range(500)] + [odd] + [f"site{n}.com" for n in range(500)]
    expected = _full_answer(suffixes, odd)
    split = suffixes.split
    asked = []
    monkeypatch.setattr(suffixes, "split", lambda name: asked.append(name) or split(name))
    assert suffixes.all_registrable(names) == expected
    assert len(asked) <= 3  # the odd name and the two parents' probes
    for bad in ("www.example.com", "example"):
        assert not suffixes.all_registrable([*names, bad])


@pytest.mark.parametrize("include_private", [True, False])
def test_the_names_rules_reach_into_are_every_rule_and_parent(include_private):
    suffixes = SuffixList(include_private=include_private)
    names = set()
    for rule in suffixes.tlds:
        labels = rule.removeprefix("!").split(".")
        names.update(".".join(labels[index:]) for index in range(len(labels)))
    special, probe = suffixes._rules
    assert special == names
    assert probe not in {label for name in names for label in name.split(".")}


def test_is_registrable_known_answers():
    suffixes = SuffixList()
    for name, expected in [("www.ck", True), ("foo.ck", False), ("a.foo.ck", True), ("city.kobe.jp", True),
                           ("other.kobe.jp", False), ("www.other.kobe.jp", True), ("blogspot.com", False),
                           ("me.blogspot.com", True), ("example.co.uk", True), ("co.uk", False),
                           ("www.example.com", False), ("xn--bcher-kva.de", True)]:
        assert suffixes.is_registrable(name) is expected, name


# --- the split: tldextract's, over its bundled snapshot only ----------------------------------

@pytest.mark.parametrize(("include_private", "name", "expected"), [
    (True, "www.example.co.uk", ("co.uk", "example.co.uk")),
    (True, "a.b.foo.ck", ("foo.ck", "b.foo.ck")),  # *.ck
    (True, "a.www.ck", ("ck", "www.ck")),  # !www.ck
    (True, "x.city.kobe.jp", ("kobe.jp", "city.kobe.jp")),  # !city.kobe.jp under *.kobe.jp
    (True, "me.blogspot.com", ("blogspot.com", "me.blogspot.com")),
    (False, "me.blogspot.com", ("com", "blogspot.com")),  # without the private rules
    (True, "com", ("com", "")),
    (True, "1.2.3.4", ("", "")),
    (True, "a.notarule", ("", "")),
    (True, "xn--bcher-kva.xn--p1ai", ("xn--p1ai", "xn--bcher-kva.xn--p1ai")),
])
def test_split_known_answers(include_private, name, expected):
    assert SuffixList(include_private=include_private).split(name) == expected


@pytest.mark.parametrize("include_private", [True, False])
def test_tlds_are_the_extractors_rules(include_private):
    suffixes = SuffixList(include_private=include_private)
    assert suffixes.tlds == frozenset(suffixes.extractor.tlds)
    assert ("blogspot.com" in suffixes.tlds) is include_private and "co.uk" in suffixes.tlds
