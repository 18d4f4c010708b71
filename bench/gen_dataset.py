"""Write a large synthetic dataset for P4: the bundled records plus N generated entities of M domains each.

    python bench/gen_dataset.py OUT_DIR [--entities 10000] [--domains 100]

Every generated record passes the linter (registrable, sorted, sourced, reviewed), so loading it
measures the work a clean million-domain list costs, not the cost of reporting problems.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "data"
# A mix of one- and two-label public suffixes, so the suffix split does real work.
SUFFIXES = ("com", "org", "net", "de", "co.uk", "com.au", "io", "info", "fr", "co.jp")
SOURCE_ID = "court-stockholm-2009-04-17-pirate-bay-judgment"


def entity_id(number: int) -> str:
    return f"bench-site-{number:06d}"


def domain(number: int, index: int) -> str:
    return f"bench{number:06d}-{index:03d}.{SUFFIXES[(number + index) % len(SUFFIXES)]}"


def entity_text(number: int, per_entity: int) -> str:
    domains = sorted(domain(number, index) for index in range(per_entity))
    listed = "".join(f'    "{name}",\n' for name in domains)
    return (
        f'id = "{entity_id(number)}"\n'
        f'name = "Bench site {number}"\n'
        'kind = "website"\n'
        f"domains = [\n{listed}]\n"
        'status = "active"\n'
        'description = "A generated record for the load-time benchmark."\n'
        f'source_ids = ["{SOURCE_ID}"]\n'
        "last_reviewed = 2026-11-01\n"
        "\n[de]\n"
        'description = "Ein erzeugter Eintrag für den Ladezeit-Benchmark."\n'
    )


def generate(out: Path, entities: int, per_entity: int) -> int:
    """Fill `out` (which must not hold records yet); returns the number of generated domains."""
    for kind in ("schema", "sources", "cases", "providers", "entities"):
        shutil.copytree(BUNDLED / kind, out / kind, dirs_exist_ok=True)
    if not (out / "sources" / f"{SOURCE_ID}.toml").is_file():
        raise SystemExit(f"the bundled source {SOURCE_ID} is gone; pick another in bench/gen_dataset.py")
    folder = out / "entities"
    for number in range(entities):
        (folder / f"{entity_id(number)}.toml").write_text(entity_text(number, per_entity), encoding="utf-8")
    return entities * per_entity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=100, help="domains per generated entity")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    count = generate(args.out, args.entities, args.domains)
    print(f"{args.out}: {args.entities:,} generated entities, {count:,} domains", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
