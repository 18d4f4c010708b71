"""Host name parsing: one normalised Hostname from any form a user or browser gives."""

import pytest

from caseflag.domains import Hostname, parse
from caseflag.errors import InvalidDomain, NotPublicName


@pytest.mark.parametrize(
    ("text", "name", "registrable"),
    [
        ("thepiratebay.org", "thepiratebay.org", "thepiratebay.org"),
        ("HTTPS://WWW.ThePirateBay.org/x?q=1#frag", "www.thepiratebay.org", "thepiratebay.org"),
        ("user:secret@Example.COM.:8080/path", "example.com", "example.com"),
        ("www.example.co.uk.", "www.example.co.uk", "example.co.uk"),
        ("//cdn.example.com/lib.js", "cdn.example.com", "example.com"),
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


def test_candidates_walk_from_host_to_registrable_domain():
    """Matching tries the host, then each parent, and stops at the registrable domain."""
    assert parse("a.b.thepiratebay.org").candidates() == ["a.b.thepiratebay.org", "b.thepiratebay.org",
                                                           "thepiratebay.org"]
    assert parse("thepiratebay.org.evil.com").candidates()[-1] == "evil.com"


def test_classmethod_matches_module_function():
    assert Hostname.parse("Example.com") == parse("example.com")
