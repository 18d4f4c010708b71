"""`caseflag report OUTPUT`: a batch's output as one self-contained HTML page with charts.

Charts are drawn with plotly (`pip install 'caseflag[report]'`): a maintained, pure-Python
library whose pages carry plotly.js inline, so the file opens offline, anywhere, with hover and
zoom. Case details (jurisdiction, date) come from the bundled dataset, by the ids the records hold.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from .. import __version__
from .batchio import parse_record, read_output
from .batchtally import Tally, record_key
from ..core.errors import InvalidInput

LAYOUT = {"height": 360, "margin": {"l": 40, "r": 20, "t": 50, "b": 80}, "template": "plotly_white"}
LEVEL_COLOURS = {"target": "#c62828", "party": "#1565c0", "related": "#6a1b9a", "infrastructure": "#ef6c00",
                 "none": "#9e9e9e"}


def _records(path: Path) -> tuple[str, list[dict]]:
    """The format and the records of a batch output (JSON Lines or CSV, plain or .gz)."""
    name = path.name.lower().removesuffix(".gz")
    fmt = "csv" if name.endswith(".csv") else "jsonl"
    try:
        data, _ = read_output(path)
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror or err}") from err
    lines = data.decode("utf-8", "replace").splitlines()
    records = []
    for number, line in enumerate(lines[1:] if fmt == "csv" else lines, start=2 if fmt == "csv" else 1):
        try:
            records.append(parse_record(fmt, line))
        except (ValueError, KeyError, TypeError, StopIteration) as err:
            raise InvalidInput(f"{path}:{number} is not a record written by caseflag batch ({err})") from err
    return fmt, records


def _case_ids(fmt: str, record: dict) -> list[str]:
    if fmt == "csv":
        return [c for c in (record.get("cases", "") + ";" + record.get("provider_cases", "")).split(";") if c]
    return [case if isinstance(case, str) else case["id"]
            for match in record.get("matches", ()) for case in match.get("cases", ())]


def gather(path: Path) -> dict:
    """What the page shows: counts by level, provider, evidence, status; cases by jurisdiction and year."""
    from ..core.config import resolve
    from ..data.dataset import Dataset, case_sort_date

    fmt, records = _records(path)
    tally = Tally()
    sites_per_case: Counter = Counter()
    for record in records:
        tally.add_key(record_key(fmt, record))
        sites_per_case.update(set(_case_ids(fmt, record)))
    dataset = Dataset.load(resolve()["DATA_DIR"])
    jurisdictions: Counter = Counter()
    years: Counter = Counter()
    titles = {}
    for case_id in sites_per_case:
        case = dataset.cases.get(case_id)
        if case is None:
            continue
        titles[case_id] = case["title"]
        jurisdictions[case.get("jurisdiction") or "unknown"] += 1
        date = case_sort_date(case)[:4]
        years[date if date.isdigit() else "unknown"] += 1
    versions = {record.get("dataset_version") for record in records if record.get("dataset_version")}
    return {"tally": tally, "sites_per_case": sites_per_case, "titles": titles, "jurisdictions": jurisdictions,
            "years": years, "versions": sorted(versions), "dataset": dataset.version}


def _bar(title: str, counts: Counter | dict, colours: dict | None = None, sort: bool = True):
    import plotly.graph_objects as go

    items = sorted(counts.items(), key=lambda kv: -kv[1]) if sort else sorted(counts.items())
    keys = [str(key) for key, _ in items]
    figure = go.Figure(go.Bar(x=keys, y=[value for _, value in items], text=[value for _, value in items],
                              marker_color=[(colours or {}).get(key, "#455a64") for key in keys]))
    return figure.update_layout(title=title, **LAYOUT)


def _providers(tally: Tally):
    import plotly.graph_objects as go

    names = [name for name, _ in tally.providers.most_common()]
    served = [tally.served_by[name] for name in names]
    dns_only = [tally.providers[name] - tally.served_by[name] for name in names]
    figure = go.Figure([go.Bar(name="serves the site (traffic evidence)", x=names, y=served),
                        go.Bar(name="answers its DNS only (nameservers)", x=names, y=dns_only)])
    return figure.update_layout(title="Sites by provider", barmode="stack", **LAYOUT)


def _charts(facts: dict) -> list:
    tally: Tally = facts["tally"]
    charts = [_bar("Sites by level", tally.levels, LEVEL_COLOURS)]
    if tally.providers:
        charts.append(_providers(tally))
    if tally.evidence:
        charts.append(_bar("Provider evidence by kind", tally.evidence))
    charts.append(_bar("DNS outcome", tally.infrastructure, {"unavailable": "#c62828"}))
    if facts["jurisdictions"]:
        charts.append(_bar("Cases by jurisdiction", facts["jurisdictions"]))
        charts.append(_bar("Cases by year", facts["years"], sort=False))
    return charts


def _page(path: Path, facts: dict) -> str:
    tally: Tally = facts["tally"]
    parts = [figure.to_html(full_html=False, include_plotlyjs=(number == 0), config={"displaylogo": False})
             for number, figure in enumerate(_charts(facts))]
    titles = facts["titles"]
    # Most sites first; cases reached by as many sites in the order of their titles, so that the
    # same output always gives the same table.
    reached = sorted(facts["sites_per_case"].items(), key=lambda item: (-item[1], titles.get(item[0], item[0])))
    top = "".join(f"<tr><td>{html.escape(titles.get(case, case))}</td><td>{count:,}</td></tr>"
                  for case, count in reached[:15])
    versions = ", ".join(facts["versions"]) or "unknown"
    errors = sum(tally.errors.values())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>caseflag report: {html.escape(path.name)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}}
.grid{{display:grid;grid-template-columns:1fr 1fr;gap:1rem}} table{{border-collapse:collapse}}
td,th{{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}} .note{{color:#555;font-size:.9rem}}</style>
</head><body>
<h1>caseflag report: {html.escape(path.name)}</h1>
<p><strong>{tally.records:,}</strong> records · unavailable (lookups failed): <strong>{tally.unavailable:,}</strong>
· input errors: {errors:,} · dataset version {html.escape(versions)} · caseflag {__version__}</p>
<div class="grid">{"".join(f"<div>{part}</div>" for part in parts)}</div>
<h2>Cases reached most often</h2>
<table><tr><th>case</th><th>sites</th></tr>{top or '<tr><td colspan="2">none</td></tr>'}</table>
<p class="note">A provider <em>serves</em> a site only on evidence about its traffic (its address in the
provider's ranges, its headers, a CNAME into it, the origin AS); nameservers alone say only that the
provider answers the site's DNS. Case details are from dataset {html.escape(facts['dataset'])}.
The caseflag data is licensed CC BY 4.0; cite the release you used.</p>
</body></html>
"""


def write_report(output: str, target: str | None = None) -> str:
    """Write the report page for a batch output; returns where it went."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise InvalidInput("caseflag report draws its charts with plotly: pip install 'caseflag[report]'") from None
    path = Path(output)
    if not path.is_file():
        raise InvalidInput(f"{output} is not a file: give a batch's output (.jsonl, .csv, optionally .gz)")
    target = target or f"{output}.report.html"
    Path(target).write_text(_page(path, gather(path)), encoding="utf-8")
    return target
