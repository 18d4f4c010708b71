"""P5: the extension's built-in index for a generated 100,000-domain dataset — localCheck per navigation
against a bare Map.get, the index's bytes per domain, and its load time in node (the worker's stand-in).

    python bench/p5_extension.py [--entities 1000] [--domains 100] [--rounds 3]

Called by bench/run.py (`--only p5`); returns its rows as dicts of run.Row's fields.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
NODE = shutil.which("node") or "/usr/bin/node"


def build_index(folder: Path, entities: int, per_entity: int) -> tuple[Path, int]:
    """Generate the dataset (bench/gen_dataset.py) and write its index as `caseflag data export` does."""
    sys.path.insert(0, str(BENCH))
    from gen_dataset import generate

    from caseflag.data.dataset import Dataset
    from caseflag.exports.extension_index import index_text

    count = generate(folder / "data", entities, per_entity)
    path = folder / "index.json"
    path.write_bytes(index_text(Dataset.load(folder / "data")).encode("utf-8"))
    return path, count


def node_run(index: Path) -> dict:
    done = subprocess.run([NODE, "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", str(BENCH / "p5_local.mjs"),
                           str(index)], capture_output=True, text=True, timeout=600, check=False, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"P5: node failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def p5(entities: int = 1_000, per_entity: int = 100, rounds: int = 3) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="caseflag-p5-") as folder:
        index, generated = build_index(Path(folder), entities, per_entity)
        runs = [node_run(index) for _ in range(rounds)]  # fresh processes: each load is a cold one
    by_ratio = sorted(runs, key=lambda run: run["cold"]["local_check_ns"] / run["cold"]["map_get_ns"])
    middle = by_ratio[len(by_ratio) // 2]
    size, domains = middle["bytes"], middle["domains"]
    per_domain = size / domains
    loads = sorted(run["load_ms"]["total"] for run in runs)
    load = next(run["load_ms"] for run in runs if run["load_ms"]["total"] == loads[len(loads) // 2])
    rows = []
    for key, what in (("cold", "each name new (no cached answer)"),
                      ("typical", "30,000 visits to 3,000 sites, Zipf popularity (answers cached)")):
        check, bare = middle[key]["local_check_ns"], middle[key]["map_get_ns"]
        ratio = check / bare
        rows.append({"name": "P5", "what": f"localCheck ÷ bare Map.get per navigation, {domains:,}-domain index; "
                                           f"⅓ listed, ⅓ www., ⅓ unlisted; {what}",
                     "measured": f"{check:,.0f} ns", "baseline": f"{bare:,.0f} ns", "ratio": ratio,
                     "target": "≤ 5", "met": ratio <= 5,
                     "note": f"median of {rounds} node processes by ratio; their ratios "
                             + ", ".join(f"{r[key]['local_check_ns'] / r[key]['map_get_ns']:.1f}" for r in runs)
                             + (("; cold by kind (localCheck / Map.get ns): " + ", ".join(
                                 f"{kind} {v['local_check_ns']:,.0f} / {v['map_get_ns']:,.0f}"
                                 for kind, v in middle["by_kind"].items())) if key == "cold" else "")})
    rows.append({"name": "P5", "what": f"index size on disk ({generated:,} generated domains + the bundled data)",
                 "measured": f"{per_domain:.1f} bytes/domain", "baseline": f"{size:,} bytes", "ratio": None,
                 "target": "≤ 40", "met": per_domain <= 40,
                 "note": "public suffix rules, the message catalogue and the bundled records are in the total"})
    rows.append({"name": "P5", "what": "index load in node (read + JSON.parse + prepareIndex), the worker's stand-in",
                 "measured": f"{load['total']:,.0f} ms", "baseline": "", "ratio": None, "target": "", "met": None,
                 "note": f"median of {rounds} fresh processes ({', '.join(f'{x:,.0f}' for x in loads)} ms); "
                         f"read {load['read']:,.0f}, parse {load['parse']:,.0f}, prepare {load['prepare']:,.0f} ms; "
                         f"{middle['node']}"})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000)
    parser.add_argument("--domains", type=int, default=100, help="domains per generated entity")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    for row in p5(args.entities, args.domains, args.rounds):
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else ""
        print(f"| {row['name']} | {row['what']} | {row['measured']} | {row['baseline']} | {ratio} | {row['target']} | "
              f"{ {True: 'yes', False: '**no**', None: 'n/a'}[row['met']]} |")
        print(f"  {row['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
