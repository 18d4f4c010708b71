"""The linter's checks of one record against the others: ids, references, citations, German
text, dates, sorted lists, addresses and IP ranges. Mixed into lint.Checker, whose report() and
ids (kind -> id -> record) they use."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from itertools import islice
from operator import lt
from urllib.parse import urlsplit

from .records import RawRecord

# Entity fields that name another entity (dataset.RELATION_FIELDS says what each relation means).
ENTITY_LINKS = ("successor_of", "predecessor_of", "mirror_of", "operated_by")
# English text a person reads, per kind: each needs its German text in the record's [de] table
# (the same field name); a case's title may stay English (a court's caption is not translated).
GERMAN_FIELDS = {"entities": ("description",), "cases": ("summary", "outcome")}
GERMAN_OPTIONAL = {"cases": ("title",)}
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class RecordChecks:
    """Each check reports through self.report(record, keys, message, fix, value=, fatal=)."""

    today: dt.date
    ids: dict[str, dict[str, RawRecord]]

    def check_record(self, record: RawRecord) -> None:
        """Every check of one valid record (ids of all records already gathered)."""
        self._check_references(record)
        self._check_dates(record)
        self._check_sorted(record)
        self._check_german(record)
        if record.kind == "sources":
            self._check_url(record, ("url",), record.data.get("url"))
            if "url" not in record.data and not record.data.get("note"):
                self.report(record, ("id",), "a source without a url has no note",
                            "add a note saying why the address is not known", fatal=False)
        if record.kind == "providers":
            ranges_url = (record.data.get("ranges_source") or {}).get("url")
            self._check_url(record, ("ranges_source", "url"), ranges_url)
            self._check_ranges(record)

    def check_id(self, record: RawRecord) -> None:
        record_id = record.data["id"]
        if record_id != record.stem:
            self.report(record, ("id",), f"id {record_id!r} does not match the file name {record.path.name!r}",
                        f"rename the file to {record_id}.toml or set id = \"{record.stem}\"")
        if (other := self.ids[record.kind].get(record_id)) is not None:
            self.report(record, ("id",), f"id {record_id!r} is also used by {other.path.name}",
                        "give each record its own id")
        else:
            self.ids[record.kind][record_id] = record

    def _require(self, record: RawRecord, keys: tuple, kind: str, ref: str) -> None:
        if ref not in self.ids[kind]:
            singular = kind[:-1] if kind != "entities" else "entity"
            self.report(record, keys, f"{'.'.join(map(str, keys))} refers to unknown {singular} {ref!r}",
                        f"add data/{kind}/{ref}.toml or correct the id", value=ref)

    def _check_references(self, record: RawRecord) -> None:
        """Every id a record names is listed; a case, each role in it and each alias cite a source."""
        data = record.data
        for ref in data.get("source_ids", []):
            self._require(record, ("source_ids",), "sources", ref)
        if record.kind == "entities":
            for key in (key for key in ENTITY_LINKS if key in data):
                self._require(record, (key,), "entities", data[key])
                if data[key] == data["id"]:
                    self.report(record, (key,), f"{key} names the entity itself",
                                "name another entity, or remove the field", value=data[key])
            for index, alias in enumerate(data.get("aliases", [])):
                for ref in alias.get("source_ids", []):
                    self._require(record, ("aliases", index, "source_ids"), "sources", ref)
                if not alias.get("source_ids"):
                    self.report(record, ("aliases", index, "domain"),
                                f"the alias {alias['domain']!r} cites no source",
                                "add source_ids naming the reporting that ties it to this entity")
        elif record.kind == "cases":
            if not data.get("source_ids"):
                self.report(record, ("source_ids",), "the case cites no source",
                            "add at least one id from data/sources/ to source_ids")
            for index, party in enumerate(data.get("parties", [])):
                self._require(record, ("parties", index, "entity_id"), "entities", party["entity_id"])
                for ref in party.get("source_ids", []):
                    self._require(record, ("parties", index, "source_ids"), "sources", ref)
                if not party.get("source_ids"):
                    self.report(record, ("parties", index, "role"),
                                f"the role of {party['entity_id']!r} cites no source",
                                "add source_ids naming the reporting that gives this role")
        elif record.kind == "providers":
            self._require(record, ("entity_id",), "entities", data["entity_id"])

    def _check_german(self, record: RawRecord) -> None:
        """Every English text a person reads has its German text in [de], and [de] translates
        only what is there in English. Review rules: the server still loads the record, and
        answers in English where the German is missing."""
        data = record.data
        german = data.get("de") or {}
        for key in GERMAN_FIELDS.get(record.kind, ()):
            if data.get(key) and not german.get(key):
                self.report(record, (key,), f"{key} has no German text",
                            f"add [de] {key} = \"…\" with the same text in German, in our own words",
                            fatal=False)
        for key in german:
            if key in GERMAN_FIELDS.get(record.kind, ()) + GERMAN_OPTIONAL.get(record.kind, ()) and not data.get(key):
                self.report(record, ("de", key), f"de.{key} translates no English {key}",
                            f"add the English {key}, or remove de.{key}", fatal=False)

    def _check_url(self, record: RawRecord, keys: tuple, url: str | None) -> None:
        if url is None:
            return
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.report(record, keys, f"{url!r} is not an http(s) address",
                        "use a full http:// or https:// URL, or leave url out and explain in note",
                        value=url)

    def _check_dates(self, record: RawRecord) -> None:
        if record.kind != "sources" and not record.data.get("last_reviewed"):
            self.report(record, ("id",), "last_reviewed is missing",
                        "add last_reviewed = YYYY-MM-DD, the day you checked the record", fatal=False)
        # A case with no known date is allowed (an undated report), but must say so in note.
        if record.kind == "cases" and not record.data.get("dates") and not record.data.get("note"):
            self.report(record, ("dates",), "the case gives no date and no note",
                        "add filed, decided or reported under [dates], or say in note why no date is known",
                        fatal=False)
        for keys, value in record_dates(record.data):
            parsed = parse_partial_date(value)
            if parsed is None:
                self.report(record, keys, f"{'.'.join(keys)} = {value!r} is not a valid date",
                            "write YYYY-MM-DD, or \"YYYY-MM\" / \"YYYY\" when only part is known",
                            value=value, fatal=False)
            elif parsed > self.today:
                self.report(record, keys, f"{'.'.join(keys)} = {value!r} is in the future",
                            "use the date the event happened or was reported", value=value, fatal=False)

    def _check_sorted(self, record: RawRecord) -> None:
        data = record.data
        lists: list[tuple[tuple, list, object]] = [(("source_ids",), data.get("source_ids", []), None)]
        if record.kind == "entities":
            lists.append((("domains",), data.get("domains", []), None))
            lists.append((("aliases",), [a["domain"] for a in data.get("aliases", [])], None))
            for index, alias in enumerate(data.get("aliases", [])):
                lists.append((("aliases", index, "source_ids"), alias.get("source_ids", []), None))
        if record.kind == "cases":
            lists.append((("parties",), [p["entity_id"] for p in data.get("parties", [])], None))
            for index, party in enumerate(data.get("parties", [])):
                lists.append((("parties", index, "source_ids"), party.get("source_ids", []), None))
        if record.kind == "providers":
            for key in ("asns", "nameserver_patterns", "cname_patterns"):
                lists.append(((key,), data.get(key, []), None))
            for key in ("ipv4", "ipv6"):
                lists.append(((key,), data.get(key, []), _network_key))
            lists.append((("header_patterns",), data.get("header_patterns", []),
                          lambda item: (item.get("name", ""), item.get("value", ""))))
        for keys, items, sort_key in lists:
            if sort_key is None and _plainly_sorted(items):
                continue  # the common case: nothing to report, told without a sorted copy and a set
            try:
                expected = sorted(items, key=sort_key)
            except (ValueError, TypeError):
                continue  # an invalid range or item; _check_ranges or the domain checks report it
            if items != expected:
                first = next(i for i, (a, b) in enumerate(zip(items, expected)) if a != b)
                self.report(record, keys, f"{'.'.join(map(str, keys))} is not sorted ({items[first]!r} is out of place)",
                            f"sort the list; it should start {expected[: min(3, len(expected))]!r}",
                            value=items[first] if isinstance(items[first], str) else None, fatal=False)
            # items that sorted() could compare with a string are strings, each its own str()
            plain = sort_key is None and items and type(items[0]) is str
            distinct = len(set(items)) if plain else len(set(map(str, items)))
            if distinct != len(items):
                self.report(record, keys, f"{'.'.join(map(str, keys))} lists an item twice",
                            "remove the duplicate", fatal=False)

    def _check_ranges(self, record: RawRecord) -> None:
        for key, version in (("ipv4", 4), ("ipv6", 6)):
            for cidr in record.data.get(key, []):
                try:
                    network = ipaddress.ip_network(cidr, strict=True)
                except ValueError as err:
                    self.report(record, (key,), f"{cidr!r} is not a valid network: {err}",
                                "write the network address with its prefix length, e.g. 104.16.0.0/13",
                                value=cidr)
                    continue
                if network.version != version:
                    self.report(record, (key,), f"{cidr!r} is not an IPv{version} network",
                                f"move it to the ipv{network.version} list", value=cidr)


def _plainly_sorted(items) -> bool:
    """Whether the sorted check passes a list without a look at it item by item: under two items,
    or strings each above the one before (so sorted() keeps their order, and none is there twice)."""
    if type(items) is not list:
        return False
    if len(items) < 2:
        return True
    try:
        return type(items[0]) is str and all(map(lt, items, islice(items, 1, None)))
    except TypeError:  # a string next to something else: the full check says what sorted() says
        return False


def record_dates(data: dict):
    """(keys, value) of each date a record gives: reviewed, published, case dates, ranges taken."""
    if record_date := data.get("last_reviewed"):
        yield ("last_reviewed",), record_date
    if published := data.get("published"):
        yield ("published",), published
    for key, value in (data.get("dates") or {}).items():
        yield ("dates", key), value
    if taken := (data.get("ranges_source") or {}).get("taken"):
        yield ("ranges_source", "taken"), taken


def _network_key(cidr: str):
    network = ipaddress.ip_network(cidr, strict=False)
    return (network.version, int(network.network_address), network.prefixlen)


def parse_partial_date(value: str) -> dt.date | None:
    """'2018-11-07', '2018-11' or '2018' as the earliest date it can mean; None when invalid."""
    match = _DATE.match(str(value))
    if not match:
        return None
    year, month, day = match.groups()
    try:
        return dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
