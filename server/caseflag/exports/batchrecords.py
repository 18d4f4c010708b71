"""What a batch writes for one checked input: a CSV row, a compact or a full JSON line.

The CSV row shape is also what `/api/v1/check?format=csv` sends. Every CSV cell that a spreadsheet
would read as a formula is neutralised (OWASP's advice): a leading = + - @ tab or carriage return
gets a single quote before it.
"""

from __future__ import annotations

import csv
import io

from ..service.answer import encode
from ..service.verdict import SERVING_EVIDENCE

CSV_COLUMNS = ("input", "hostname", "registrable_domain", "level", "entities", "providers", "cases",
               "infrastructure_status", "reason", "line", "error",
               # added by issue 22: the provider's cases apart from the site's own, what proves each
               # provider, the addresses and origin ASNs, and which data answered when
               "provider_cases", "served_by", "evidence", "addresses", "asns", "dataset_version", "checked_at")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text with a leading quote (OWASP)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def serves(provider: dict) -> bool:
    """Whether a provider entry rests on evidence about the site's traffic. The verdict says so in
    `serves`; an answer without that field is read from its evidence kinds (nameservers alone: no)."""
    if "serves" in provider:
        return bool(provider["serves"])
    return any(item["kind"] in SERVING_EVIDENCE for item in provider.get("evidence", ()))


def _case_ids(case_lists) -> str:
    return ";".join(dict.fromkeys(case["id"] for cases in case_lists for case in cases))


def verdict_row(result: dict, line: int | None = None) -> dict[str, str]:
    """One CSV row for a check result or an inline error; lists are joined with ';'."""
    row = dict.fromkeys(CSV_COLUMNS, "")
    row["input"] = result.get("query", "")
    row["line"] = "" if line is None else str(line)
    if "error" in result:
        row.update(error=result["error"]["code"], reason=result["error"]["message"])
        return {key: neutralise(value) for key, value in row.items()}
    own = [match for match in result["matches"] if match["matched_by"] != "provider"]
    level = result["verdict"]["level"]
    case_lists = [match["cases"] for match in own]
    if level == "related":  # the cases that tie the site, through the entities related to its own
        case_lists += [other["cases"] for match in own for other in match.get("related", [])]
    infrastructure = result["infrastructure"]
    providers = infrastructure["providers"]
    row.update(
        hostname=result["hostname"],
        registrable_domain=result["registrable_domain"] or "",
        level=level,
        entities=";".join(match["entity"]["id"] for match in result["matches"]),
        providers=";".join(provider["id"] for provider in providers),
        cases=_case_ids(case_lists),
        provider_cases=_case_ids(match["cases"] for match in result["matches"] if match["matched_by"] == "provider"),
        served_by=";".join(provider["id"] for provider in providers if serves(provider)),
        evidence=";".join(f"{provider['id']}:" + "+".join(dict.fromkeys(item["kind"] for item in provider["evidence"]))
                          for provider in providers),
        addresses=";".join(infrastructure["addresses"]),
        asns=";".join(f"AS{info['asn']}" for info in infrastructure.get("asns", ()) if info.get("asn") is not None),
        infrastructure_status=infrastructure["status"],
        # Reasons are sentences that may hold ';' themselves: one paragraph, not a list to split.
        reason=" ".join(result["verdict"]["reasons"]),
        dataset_version=result.get("dataset_version", ""),
        checked_at=result.get("checked_at", ""),
    )
    return {key: neutralise(value) for key, value in row.items()}


def _csv(rows, header: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def csv_header() -> str:
    return _csv((), header=True)


def csv_text(results: list[dict]) -> str:
    """A whole CSV document (header and one row per result, numbered from 1)."""
    return _csv((verdict_row(result, number) for number, result in enumerate(results, start=1)), header=True)


def _compact_match(match: dict) -> dict:
    """A match with its entity, cases and related entities by id; the cases' text and sources are
    in the release (cases.json, SQLite) and the API (/api/v1/cases/<id>)."""
    data = {"entity": match["entity"]["id"], "name": match["entity"]["name"], "matched_by": match["matched_by"],
            "role": match["role"], "cases": [case["id"] for case in match["cases"]]}
    for key in ("matched_domain", "relation"):
        if key in match:
            data[key] = match[key]
    related = [{"entity": other["id"], "relation": other["relation"], "role": other["role"],
                "cases": [case["id"] for case in other["cases"]]} for other in match.get("related", ())]
    if related:
        data["related"] = related
    return data


def compact(result: dict) -> dict:
    """The answer with cases and sources referred to by id: ~0.5 kB a record instead of ~17 kB
    for a site behind a provider named in cases."""
    if "error" in result:
        return result
    infrastructure = dict(result["infrastructure"])
    infrastructure["providers"] = [{key: value for key, value in provider.items() if key != "summary"}
                                   for provider in infrastructure["providers"]]
    return {**result, "matches": [_compact_match(match) for match in result["matches"]],
            "infrastructure": infrastructure}


def record_bytes(fmt: str, line: int, result: dict, full: bool = False) -> bytes:
    """One record as written: a JSON line (compact unless full) or a CSV row, newline included."""
    if fmt == "csv":
        return _csv([verdict_row(result, line)]).encode("utf-8")
    return encode({"line": line, **(result if full else compact(result))}) + b"\n"


def tally_key(result: dict) -> str:
    """What the summary counts of a result, as one short line (sent from a worker with its records)."""
    if "error" in result:
        return "!" + result["error"]["code"]
    infrastructure = result["infrastructure"]
    providers = ",".join(provider["id"] + ("" if serves(provider) else "~")
                         for provider in infrastructure["providers"])
    kinds = ",".join(sorted({item["kind"] for provider in infrastructure["providers"]
                             for item in provider["evidence"]}))
    return f"{result['verdict']['level']}\t{infrastructure['status']}\t{providers}\t{kinds}"
