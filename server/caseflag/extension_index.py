"""The extension's built-in index: the dataset, the public suffix rules and the special-use names in
one compact JSON document, so `extension/local.js` answers as the server does with no server at all.

The same data and the same library versions give byte-identical text (`index_text`); the API serves
it at /api/v1/dataset/index and `caseflag data export --format extension` writes it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import unicodedata

import idna
import idna.idnadata

from .dataset import TARGET_ROLES, Dataset
from .domains import default_suffix_list
from .specialuse import NEVER_RESOLVED_TLDS, SPECIAL_USE_SUFFIXES
from .verdict import _case_date, _headline_role, sources_for

# Raised when the shape changes in a way an older local.js cannot read (it refuses other numbers).
FORMAT = 1
_FULL_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def build_index(dataset: Dataset) -> dict:
    """The index as a dict, in the order it is written."""
    return {
        "format": FORMAT,
        "version": dataset.version,
        "date": newest_date(dataset),
        "entities": [_entity(dataset, dataset.entities[key]) for key in sorted(dataset.entities)],
        "cases": {key: _case(dataset.cases[key]) for key in sorted(dataset.cases)},
        "sources": {key: _source(dataset.sources[key]) for key in sorted(dataset.sources)},
        "providers": [_provider(dataset.providers[key]) for key in sorted(dataset.providers)],
        "public_suffixes": public_suffix_rules(),
        "special_use": {"suffixes": list(SPECIAL_USE_SUFFIXES), "never_resolved": list(NEVER_RESOLVED_TLDS)},
        "idna": idna_classes(),
        "not_global": not_global_networks(),
    }


def index_text(dataset: Dataset) -> str:
    """The index as JSON text: compact, UTF-8 as written, one trailing newline."""
    return json.dumps(build_index(dataset), ensure_ascii=False, separators=(",", ":")) + "\n"


def cached_index(dataset: Dataset) -> tuple[bytes, str]:
    """(UTF-8 body, strong ETag) of the dataset's index, built once per dataset version."""
    key = ("extension_index",)
    hit = dataset.memo.get(key)
    if hit is None:
        body = index_text(dataset).encode("utf-8")
        hit = dataset.memo[key] = (body, hashlib.sha256(body).hexdigest()[:32])
    return hit


def newest_date(dataset: Dataset) -> str:
    """The newest full date (YYYY-MM-DD) anywhere in the records: reviews, case dates, publications.
    Derived from the data, so the same data gives the same date, and newer data a date not older."""
    found = ""
    stack: list = [dataset.entities, dataset.cases, dataset.sources, dataset.providers]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and _FULL_DATE.match(value) and value > found:
            found = value
    return found


def _entity(dataset: Dataset, entity: dict) -> dict:
    # Target cases first, then newest first: the order of a match's `cases` in the API.
    involvements = sorted(dataset.involvements(entity["id"]), key=lambda inv: inv.role not in TARGET_ROLES)
    data = {"id": entity["id"], "name": entity["name"], "kind": entity["kind"], "status": entity.get("status"),
            "description": entity.get("description")}
    if entity.get("jurisdiction"):
        data["jurisdiction"] = entity["jurisdiction"]
    data.update({
        "role": _headline_role(involvements),
        "domains": entity.get("domains", []),
        "aliases": [[alias["domain"], alias["relation"]] for alias in entity.get("aliases", [])],
        # [case id, role, source ids in the API's order (newest first)]
        "cases": [[inv.case["id"], inv.role,
                   [s["id"] for s in sources_for(dataset, [*inv.source_ids, *inv.case.get("source_ids", [])], None)]]
                  for inv in involvements],
        "related": [[other["id"], relation] for relation, other in dataset.related(entity["id"])],
    })
    return data


def _case(case: dict) -> dict:
    data = {"title": case["title"], "type": case["type"], "date": _case_date(case), "status": case["status"],
            "jurisdiction": case.get("jurisdiction")}
    for key in ("court", "docket"):
        if case.get(key):
            data[key] = case[key]
    return data


def _source(source: dict) -> dict:
    data = {"publisher": source["publisher"], "title": source["title"], "date": source.get("published"),
            "language": source["language"], "kind": source["kind"]}
    if source.get("url"):
        data["url"] = source["url"]
    return data


def _provider(provider: dict) -> dict:
    return {
        "id": provider["id"], "name": provider["name"], "short_label": provider["short_label"],
        "entity_id": provider["entity_id"], "ipv4": provider.get("ipv4", []), "ipv6": provider.get("ipv6", []),
        "nameserver_patterns": provider.get("nameserver_patterns", []),
        "cname_patterns": provider.get("cname_patterns", []),
        "header_patterns": provider.get("header_patterns", []),
    }


def public_suffix_rules() -> dict[str, list[str]]:
    """tldextract's bundled snapshot (the rules the server splits names with), in punycode.

    The server matches a name's punycode labels against Unicode rules after decoding them; a rule
    written in punycode lets the extension compare ASCII labels directly. A rule whose label does
    not come back from decoding could never match a name, and is left out."""
    extractor = default_suffix_list()._extract._get_tld_extractor()
    return {"icann": _ascii_rules(extractor.public_tlds), "private": _ascii_rules(extractor.private_tlds)}


def _ascii_rules(rules) -> list[str]:
    out = set()
    for rule in rules:
        labels = []
        for label in rule.split("."):
            prefix, bare = ("!", label[1:]) if label.startswith("!") else ("", label)
            if not bare.isascii():
                ascii_label = "xn--" + bare.encode("punycode").decode("ascii")
                try:
                    if idna.decode(ascii_label) != bare:
                        break
                except idna.IDNAError:
                    break
                bare = ascii_label
            labels.append(prefix + bare.lower())
        else:
            out.add(".".join(labels))
    return sorted(out)


def idna_classes() -> dict:
    """The code points IDNA 2008 allows in a label, as the server's `idna` package has them:
    flat [start, end, start, end, …] lists, end exclusive. The browser's URL parser maps names
    (UTS 46) but does not apply these, so the extension checks them itself to refuse what the server refuses."""
    classes: dict = {}
    directions: dict[str, list[int]] = {}
    for name in ("PVALID", "CONTEXTJ", "CONTEXTO"):
        flat = []
        for packed in idna.idnadata.codepoint_classes[name]:
            start, end = packed >> 32, packed & 0xFFFFFFFF
            flat += [start, end]
            for point in range(start, end):
                direction = unicodedata.bidirectional(chr(point))
                if direction != "L":
                    directions.setdefault(direction, []).append(point)
        classes[name.lower()] = flat
    # The bidi class of each allowed code point that is not L, as the server's unicodedata has it
    # ("" where it has none): the Bidi Rule (RFC 5893) the idna package applies label by label.
    classes["bidi"] = {direction: _runs(sorted(points)) for direction, points in sorted(directions.items())}
    return classes


def _runs(points: list[int]) -> list[int]:
    flat: list[int] = []
    for point in points:
        if flat and flat[-1] == point:
            flat[-1] = point + 1
        else:
            flat += [point, point + 1]
    return flat


def not_global_networks() -> dict[str, list[str]]:
    """The addresses the server refuses as not public (``not ipaddress.ip_address(x).is_global``), as
    networks, taken from the Python the server runs on: its list changes between Python releases.

    IPv6 holds the IPv4-mapped forms of the IPv4 networks Python calls private in place of the whole
    ::ffff:0:0/96, as ``IPv6Address.is_private`` decides a mapped address by its IPv4 part."""
    v4 = ipaddress.IPv4Address._constants  # type: ignore[attr-defined]
    v6 = ipaddress.IPv6Address._constants  # type: ignore[attr-defined]
    mapped_space = ipaddress.ip_network("::ffff:0:0/96")
    ipv6: list = []
    for network in v6._private_networks:
        if network.subnet_of(mapped_space):
            continue
        ipv6 += network.address_exclude(mapped_space) if mapped_space.subnet_of(network) else [network]
    ipv6 += [ipaddress.ip_network(f"::ffff:{net.network_address}/{96 + net.prefixlen}")
             for net in v4._private_networks]
    ipv4 = [*v4._private_networks, v4._public_network]
    return {"ipv4": [str(net) for net in sorted(set(ipv4))], "ipv6": [str(net) for net in sorted(set(ipv6))]}
