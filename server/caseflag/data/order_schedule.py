"""One row of a court order's schedule of sites (`caseflag data import-order`): checked, then
matched to an entity or made one; its problems go to the importer, with the schedule's line."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from ..core.domains import parse as parse_host
from ..core.errors import CaseflagError
from .toml_writer import dumps

if TYPE_CHECKING:  # order_import imports this module: the importer's type is named for readers only
    from .order_import import OrderImporter

_SPLIT = re.compile(r"[\s;]+")
# A site in an order is what the order is about; where a suit names it as a party, it is a defendant.
SITE_ROLES = ("subject", "defendant")


def slug(name: str) -> str:
    """An id from a site's name: ASCII letters and digits joined by single hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def split_list(text: str | None) -> list[str]:
    """A cell holding several values, separated by spaces or semicolons."""
    return [part for part in _SPLIT.split(text or "") if part]


class ScheduleRow:
    """One schedule row: checked, then resolved to an existing entity or a new one."""

    def __init__(self, importer: OrderImporter, sites: dict, row: dict, line: int, seen: dict) -> None:
        self.importer, self.sites, self.line, self.seen = importer, sites, line, seen
        self.row = {key: (value or "").strip() for key, value in row.items() if key is not None}
        self.alias_sources: dict[str, list[str]] = {}
        if None in row:
            importer.refuse(importer.schedule_path, line, "more cells than columns",
                            "quote a cell that holds a comma")

    def refuse(self, message: str, fix: str) -> None:
        self.importer.refuse(self.importer.schedule_path, self.line, message, fix)

    def domains(self, column: str) -> list[str]:
        """The column's domains, checked; for aliases, `domain@source+source` records per-alias sources."""
        names = []
        for text in split_list(self.row.get(column)):
            text, _, cited = text.partition("@")
            if cited:
                self.alias_sources[text.lower()] = sorted(set(cited.split("+")))
            try:
                host = parse_host(text)
            except CaseflagError as err:
                self.refuse(f"{text!r} in {column} is not a domain: {err.message}", "write a registrable domain")
                continue
            if host.is_ip or host.registrable_domain != host.name:
                better = f"write {host.registrable_domain}" if host.registrable_domain else "write a registrable domain"
                self.refuse(f"{text!r} in {column} is not a registrable domain", better)
                continue
            if host.name in self.seen:
                self.refuse(f"{host.name} is listed twice (first on line {self.seen[host.name]})",
                            "list each domain once")
                continue
            self.seen[host.name] = self.line
            names.append(host.name)
        return names

    def resolve(self) -> dict | None:
        name = self.row.get("name", "")
        if not name:
            self.refuse("the row has no name", "give the site's name as the order gives it")
        main, aliases = self.domains("domains"), self.domains("aliases")
        if not self.row.get("domains") and not self._pick("note", ""):
            self.refuse("the row has no domains", "list the domains the order names for this site, or say in "
                        "note why no source names one")
        source_ids = split_list(self.row.get("source_ids")) or list(self.sites.get("source_ids", []))
        if not source_ids:
            self.refuse("no source names this site", "fill source_ids, or set [sites] source_ids in the order")
        for source_id in source_ids:
            if source_id not in self.importer.ids["sources"]:
                self.refuse(f"unknown source {source_id!r}", "add it to data/sources/ or to the order's [[sources]]")
        if not name or not source_ids or (self.row.get("domains") and not main):
            return None
        role = self._pick("role", "subject")
        if role not in SITE_ROLES:
            self.refuse(f"role {role!r} is not one a listed site can have", f"use {' or '.join(SITE_ROLES)}")
            return None
        party = {"entity_id": "", "role": role, "source_ids": sorted(set(source_ids))}
        owners = sorted({self.importer.owner[d] for d in main + aliases if d in self.importer.owner})
        if len(owners) > 1:
            self.refuse(f"its domains belong to {len(owners)} entities ({', '.join(owners)})",
                        "split the row, one row per entity")
            return None
        if owners:
            return self._existing(owners[0], main + aliases, party)
        return self._new(name, main, aliases, party)

    def _existing(self, entity_id: str, domains: list[str], party: dict) -> dict | None:
        wanted = self.row.get("id")
        if wanted and wanted != entity_id:
            self.refuse(f"its domains belong to {entity_id}, not to {wanted}", f"write id {entity_id}, or leave id empty")
            return None
        missing = [d for d in domains if self.importer.owner.get(d) != entity_id]
        self.importer.plan.reused.append(f"{self.importer.schedule_path}:{self.line}: {entity_id} already holds "
                                         f"{', '.join(d for d in domains if d not in missing)}; listed as subject")
        if missing:
            self.importer.plan.left_out.append(
                f"{self.importer.schedule_path}:{self.line}: {', '.join(missing)} not added to {entity_id} "
                f"(its file is not rewritten): add by hand, citing {', '.join(party['source_ids'])}")
        party["entity_id"] = entity_id
        return party

    def _new(self, name: str, main: list[str], aliases: list[str], party: dict) -> dict | None:
        entity_id = self.row.get("id") or slug(name)
        if entity_id in self.importer.ids["entities"]:
            self.refuse(f"an entity {entity_id!r} exists and holds none of these domains",
                        "give the row an id of its own in the id column")
            return None
        description, description_de = self._descriptions(name, main)
        if not description:
            return None
        record = {"id": entity_id, "name": name, "kind": self._pick("kind", "website"), "domains": sorted(main)}
        if jurisdiction := self._pick("jurisdiction", ""):
            record["jurisdiction"] = jurisdiction
        record["status"] = self._pick("status", "unknown")
        record["description"] = description
        record["source_ids"] = party["source_ids"]
        if note := self._pick("note", ""):
            record["note"] = note
        record["last_reviewed"] = self.importer.today
        record["de"] = {"description": description_de}
        if aliases:
            relation = self._pick("alias_relation", "mirror")
            alias_sources = sorted(set(split_list(self.row.get("alias_source_ids")) or party["source_ids"]))
            record["aliases"] = [{"domain": d, "relation": relation,
                                  "source_ids": self.alias_sources.get(d, alias_sources)} for d in sorted(aliases)]
            for cited in {s for ids in self.alias_sources.values() for s in ids}:
                if cited not in self.importer.ids["sources"]:
                    self.refuse(f"unknown source {cited!r} in aliases", "add it to data/sources/ or to the order's [[sources]]")
        self.importer.check_text(self.importer.schedule_path, self.line, record)
        self.importer.ids["entities"].add(entity_id)
        self.importer.plan.files[self.importer.data_dir / "entities" / f"{entity_id}.toml"] = dumps(record)
        party["entity_id"] = entity_id
        return party

    def _pick(self, column: str, default: str) -> str:
        return self.row.get(column) or self.sites.get(column, default)

    def _descriptions(self, name: str, main: list[str]) -> tuple[str, str]:
        """English and German text, from the row or else the order's templates; both or neither."""
        english = self._pick("description", "")
        german = self.row.get("description_de") or self.sites.get("de", {}).get("description", "")
        if not english or not german:
            self.refuse("no description in both English and German",
                        "fill description and description_de, or give [sites] description and "
                        "[sites.de] description templates in the order")
            return "", ""
        try:
            domain = main[0] if main else ""
            return english.format(name=name, domain=domain), german.format(name=name, domain=domain)
        except (KeyError, IndexError, ValueError) as err:
            self.refuse(f"a description template has a field it cannot fill: {err}",
                        "use only {name} and {domain} in templates")
            return "", ""
