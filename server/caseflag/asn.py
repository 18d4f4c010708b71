"""Origin AS of addresses from Team Cymru's DNS interface, asked through the run's own DNS session.

One TXT question per address (`<reversed address>.origin.asn.cymru.com`), sent with the host's
other queries: no thread per lookup, the same rate cap, retries and time budget as every query.
The answer reads "15133 | 93.184.216.0/24 | US | arin | 2008-06-02".
"""

from __future__ import annotations

import ipaddress

ORIGIN4 = "origin.asn.cymru.com"
ORIGIN6 = "origin6.asn.cymru.com"


def origin_name(address: str) -> str:
    """The TXT name Team Cymru answers for an address's origin AS."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return ".".join(reversed(address.split("."))) + "." + ORIGIN4
    return ".".join(reversed(ip.exploded.replace(":", ""))) + "." + ORIGIN6


def read_origin(text: str) -> dict:
    """The fields of one origin answer; ValueError when it is not in Team Cymru's format."""
    fields = [part.strip() for part in text.strip('"').split("|")]  # dnspython's text keeps the quotes
    if len(fields) < 4 or not fields[0]:
        raise ValueError(f"not an 'ASN | prefix | country | registry' line: {text[:80]!r}")
    asn = int(fields[0].split()[0])  # several origins are listed space-separated: the first
    ipaddress.ip_network(fields[1], strict=False)
    return {"asn": asn, "prefix": fields[1], "country": fields[2] or None, "registry": fields[3] or None}


async def lookup_asns(resolver, session, addresses: list[str], deadline: float, info_type) -> list:
    """info_type(address, status, ...) for each address, in order (see providers.AsnInfo)."""
    answers = await resolver.query_all(session, [(origin_name(a), "TXT") for a in addresses], deadline)
    found = []
    for address, answer in zip(addresses, answers):
        if not answer.ok:
            found.append(info_type(address, "error", reason=f"the ASN lookup found no answer ({answer.reason})"))
            continue
        try:
            fields = read_origin(sorted(answer.records)[0])
        except (ValueError, IndexError) as err:
            found.append(info_type(address, "error", reason=f"the ASN answer could not be read ({err})"))
            continue
        found.append(info_type(address, "ok", **fields))
    return found
