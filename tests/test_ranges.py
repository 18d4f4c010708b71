"""The IP range index: bisect over elementary intervals, overlaps and both families."""

from caseflag.core.ranges import RangeIndex


def test_lookup_finds_the_containing_networks_most_specific_first():
    index = RangeIndex([("104.16.0.0/13", "cf"), ("104.16.1.0/24", "other"), ("2606:4700::/32", "cf")])
    assert [owner for owner, _ in index.lookup("104.16.1.9")] == ["other", "cf"]
    assert [str(net) for _, net in index.lookup("104.23.255.255")] == ["104.16.0.0/13"]
    assert index.lookup("104.24.0.0") == ()
    assert index.lookup("2606:4700::1")[0][0] == "cf"
    assert index.lookup("2606:4701::1") == ()


def test_edges_of_a_range():
    index = RangeIndex([("10.0.0.0/8", "x")])
    assert index.lookup("9.255.255.255") == ()
    assert index.lookup("10.0.0.0") and index.lookup("10.255.255.255")
    assert index.lookup("11.0.0.0") == ()


def test_many_ranges_agree_with_a_scan():
    """The index answers exactly as a linear scan of the networks would."""
    import ipaddress
    import random

    rng = random.Random(7)
    cidrs = sorted({f"{rng.randrange(1, 223)}.{rng.randrange(256)}.0.0/{rng.choice([12, 16, 20])}" for _ in range(300)})
    cidrs = [str(ipaddress.ip_network(c, strict=False)) for c in cidrs]
    index = RangeIndex((c, c) for c in cidrs)
    for _ in range(2000):
        address = ipaddress.ip_address(rng.randrange(2**32))
        expected = {c for c in cidrs if address in ipaddress.ip_network(c)}
        assert {owner for owner, _ in index.lookup(address)} == expected


def test_addresses_are_read_strictly_and_both_forms_agree():
    import ipaddress

    import pytest

    index = RangeIndex([("104.16.0.0/13", "cf"), ("::ffff:0:0/96", "mapped")])
    assert index.lookup("104.16.0.1") == index.lookup(ipaddress.ip_address("104.16.0.1")) != ()
    assert index.lookup("::ffff:104.16.0.1")[0][0] == "mapped"
    for text in ("104.16", "104.16.0.1.5", "nonsense", "1:2:3"):
        with pytest.raises(ValueError):
            index.lookup(text)
