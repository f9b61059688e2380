"""What every subcommand shares: finding the course and printing a table."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..course import find_root


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
