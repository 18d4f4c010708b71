"""Filters and pages for the API's entity and case lists, and the query parameters each view knows."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..data.dataset import Dataset
from ..core.errors import InvalidInput

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
FILTERS = ("jurisdiction", "type", "status", "year")
LIST_PARAMS = frozenset({*FILTERS, "limit", "offset", "lang"})
# The query parameters each endpoint reads; any other is refused with 400 (a misspelt filter must
# not quietly return everything).
KNOWN_PARAMS = {
    "api.check_one": frozenset({"domain", "format", "lang"}),
    "api.check_many": frozenset({"format", "lang"}),
    "api.list_entities": LIST_PARAMS,
    "api.list_cases": LIST_PARAMS,
}


def check_params(endpoint: str | None, names: Iterable[str]) -> None:
    known = KNOWN_PARAMS.get(endpoint or "", frozenset({"lang"}))
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidInput(f"unknown query parameter {unknown[0]!r}; this endpoint takes "
                           f"{', '.join(sorted(known)) or 'none'}", field=unknown[0])


def _number(args, name: str, default: int, low: int, high: int) -> int:
    text = args.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}", field=name)
    return int(text)


def _years(dates: dict | None) -> set[str]:
    return {str(value)[:4] for value in (dates or {}).values() if value}


def entity_facts(dataset: Dataset, entity: dict) -> dict:
    """What the entity filters compare: type is the entity's kind; year, the years of its cases."""
    years = set().union(*(_years(inv.case.get("dates")) for inv in dataset.involvements(entity["id"])))
    return {"jurisdiction": entity.get("jurisdiction"), "type": entity.get("kind"), "status": entity.get("status"),
            "year": years}


def case_facts(case: dict) -> dict:
    return {"jurisdiction": case.get("jurisdiction"), "type": case.get("type"), "status": case.get("status"),
            "year": _years(case.get("dates"))}


def page(items: list, facts: Callable[[object], dict], args, path: str) -> dict:
    """The items that pass every filter given, a page of them, and how to get the next page."""
    wanted = {name: args[name] for name in FILTERS if args.get(name) is not None}
    if "year" in wanted and not (len(wanted["year"]) == 4 and wanted["year"].isdigit()):
        raise InvalidInput("year must be four digits, e.g. 2012", field="year")

    def passes(known: dict) -> bool:
        return all(value in known[name] if name == "year" else (known[name] or "").lower() == value.lower()
                   for name, value in wanted.items())

    chosen = [item for item in items if passes(facts(item))]
    limit = _number(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _number(args, "offset", 0, 0, 10**9)
    body = {"items": chosen[offset:offset + limit], "total": len(chosen), "limit": limit, "offset": offset}
    if offset + limit < len(chosen):
        query = "&".join(f"{k}={v}" for k, v in {**wanted, "limit": limit, "offset": offset + limit}.items())
        body["next"] = f"{path}?{query}"
    return body
