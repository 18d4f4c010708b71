"""Speed seam of the domain check: whether lists of names are plain, decided in a few C passes
over runs of about 4,096 names at once.

Why it is here: P4's load (a million generated domains in 10,000 files, bench/RESULTS.md), CPU
time ÷ tomli alone, six alternating fresh processes each (2026-12-07, shared machine): 1.73 with
both; 1.82 with the passes but one call per entity instead of runs; 1.94 with neither (one regex
match per name, one call per entity). The target is 2.0, with a margin kept for a CPU that runs
Python 2.4× slower. Tests in tests/test_lint.py hold the passes to the per-name pattern
(_PLAIN_NAME) and the whole check to the name-by-name parse.
"""

from __future__ import annotations

import re
from itertools import compress

# Lowercase LDH labels, at least two, the last not all digits: what parse() passes through unchanged.
_PLAIN_NAME = re.compile(r"(?=.{1,253}$)(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)+(?!-)(?![0-9]+$)[a-z0-9-]{1,63}(?<!-)")


_PLAIN_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_-.\n"
_TO_SEPARATOR = bytes.maketrans(b".\n", b"||")
_OVER_63 = (63).__lt__
# For plain_labels' first pass: separators and "-" become "|", any byte no plain name has b"\0".
_CLASSES = bytes(byte if byte in _PLAIN_BYTES else 0 for byte in range(256)).translate(bytes.maketrans(b".\n-", b"|||"))


def plain_labels(domains: list) -> bool:
    """Whether every item is a string of labels _PLAIN_NAME allows (lowercase letters, digits,
    '_' and inner '-', 1 to 63 each; names up to 253) — all of _PLAIN_NAME but its two rules
    on the last label (two labels at least, the last not all digits and without '_'), which
    SuffixList.all_registrable refuses anyway. Decided on the list joined by newlines with a
    few passes in C instead of a regex match per name (a million of them in a big load). Names
    over 63 characters (whose labels the passes cannot measure) are also matched one by one; a
    list with a newline inside a name goes name by name."""
    return plain_text(domains) is not None


def plain_text(domains: list) -> str | None:
    """plain_labels, giving the names joined by newlines when it is true (None when not), so the
    suffix list need not join a million names again."""
    try:
        text = "\n".join(domains)
    except TypeError:  # not a string
        return None
    if not domains:
        return text
    if not text or text.count("\n") != len(domains) - 1 or not text.isascii():
        return text if all(map(_PLAIN_NAME.fullmatch, domains)) else None
    if max(map(len, domains)) > 63:
        long_names = compress(domains, map(_OVER_63, map(len, domains)))
        if not all(map(_PLAIN_NAME.fullmatch, long_names)):
            return None
    raw = text.encode("ascii")
    joined = raw.translate(_CLASSES)
    if b"\0" in joined:
        return None  # a character no plain name has
    # Each search of a two-byte pattern costs ~20 ms on a million names, so the common case takes
    # one: with "-" also made "|", no "||" and no "|" at the ends means no empty label and no "-"
    # at a label's edge. Only names with "--" inside a label (xn--, a--b) need the exact searches.
    if b"||" not in joined and joined[:1] != b"|" and joined[-1:] != b"|":
        return text
    cut = raw.translate(_TO_SEPARATOR)  # every label between two "|": none empty, none with "-" at an edge
    if (cut[:1] not in b"|-" and cut[-1:] not in b"|-" and b"||" not in cut
            and b"|-" not in cut and b"-|" not in cut):
        return text
    return None


# Names the domain check asks about in one call: enough that a million names take a few hundred
# calls, few enough that their joined text stays in the CPU's cache (one call over all of them
# was no faster than one per entity: its passes over 17 MB wait on memory instead).
BULK_NAMES = 4_096


def runs(lists: list[list], names: int) -> list[list[list]]:
    """The lists cut into runs of consecutive lists of about `names` names together (a longer
    list makes a run alone)."""
    runs, start, count = [], 0, 0
    for end, domains in enumerate(lists, 1):
        count += len(domains)
        if count >= names:
            runs.append(lists[start:end])
            start, count = end, 0
    if start < len(lists):
        runs.append(lists[start:])
    return runs
