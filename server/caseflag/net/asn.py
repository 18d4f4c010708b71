"""Origin AS of addresses from Team Cymru's DNS interface, asked through the run's own DNS session.

One TXT question per address (`<reversed address>.origin.asn.cymru.com`), sent with the host's
other queries: no thread per lookup, the same rate cap, retries and time budget as every query.
The answer reads "15133 | 93.184.216.0/24 | US | arin | 2008-06-02".
"""

from __future__ import annotations

import functools
import ipaddress

ORIGIN4 = "origin.asn.cymru.com"
ORIGIN6 = "origin6.asn.cymru.com"


def origin_name(address: str) -> str:
    """The TXT name Team Cymru answers for an address's origin AS."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return ".".join(reversed(address.split("."))) + "." + ORIGIN4
    return ".".join(reversed(ip.exploded.replace(":", ""))) + "." + ORIGIN6


@functools.cache
def _cymru_reader():
    """ipwhois's reader of Team Cymru's DNS answers (``IPASN.parse_fields_dns``, its public parser).

    ipwhois would also send the question itself, through a resolver and a thread of its own; the
    question goes out in the check's own DNS session instead, so only its reading is ipwhois's. The
    parser does not use the address its IPASN was made for."""
    from ipwhois.asn import IPASN
    from ipwhois.net import Net

    return IPASN(Net("1.1.1.1"))


def read_origin(text: str) -> dict:
    """The fields of one origin answer; ValueError when it is not in Team Cymru's format."""
    from ipwhois.exceptions import ASNParseError, ASNRegistryError

    try:
        fields = _cymru_reader().parse_fields_dns(text)
        asn = int(fields["asn"].split()[0])  # several origins are listed space-separated: the first
        ipaddress.ip_network(fields["asn_cidr"], strict=False)
    except (ASNParseError, ASNRegistryError, KeyError, IndexError, ValueError) as err:
        raise ValueError(f"not an 'ASN | prefix | country | registry' line: {text[:80]!r}") from err
    return {"asn": asn, "prefix": fields["asn_cidr"], "country": fields["asn_country_code"] or None,
            "registry": fields["asn_registry"] or None}


async def lookup_asns(resolver, session, addresses: list[str], deadline: float, info_type) -> list:
    """info_type(address, status, ...) for each address, in order (see providers.AsnInfo)."""
    answers = await resolver.query_all(session, [(origin_name(a), "TXT") for a in addresses], deadline)
    found = []
    for address, answer in zip(addresses, answers):
        if not answer.ok:
            found.append(info_type(address, "error", reason_code="asn_no_answer",
                                   reason_params={"cause": answer.code, **(answer.params or {})}))
            continue
        try:
            fields = read_origin(sorted(answer.records)[0])
        except (ValueError, IndexError):
            text = sorted(answer.records)[0][:80] if answer.records else ""
            found.append(info_type(address, "error", reason_code="asn_unreadable", reason_params={"text": repr(text)}))
            continue
        found.append(info_type(address, "ok", **fields))
    return found
