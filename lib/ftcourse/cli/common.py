"""What every subcommand shares: finding the course, printing a table, writing or checking generated files."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..grading.layout import find_root


def course_root(args: argparse.Namespace) -> Path:
    return find_root(args.course)


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    """A plain fixed-width table: numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]] + [[f"{v:.1f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def build_or_check(out: Path, *, check: bool, build: Callable[[Path], list[Path]], stale: Callable[[Path], list[str]],
                   count: int, what: str, command: str, unit: str) -> int:
    """Write generated data files, or (``check``) change nothing and exit 1 naming each file that differs."""
    if check:
        differs = stale(out)
        for name in differs:
            print(f"differs: {out / name}", file=sys.stderr)
        if differs:
            print(f"the {what} are out of date: run `{command}` and commit the result.", file=sys.stderr)
            return 1
        print(f"{count} {what} match a fresh build.")
        return 0
    for path in build(out):
        print(f"wrote {path} ({sum(1 for _ in open(path, encoding='utf-8'))} {unit})")
    return 0
