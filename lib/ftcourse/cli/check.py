"""``ftcourse check``: run my notebook and tell me which exercises pass."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import print_table


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "check",
        help="run your notebook and report each exercise's visible tests",
        description="Execute your notebook in a fresh kernel (the file is not changed) and report each graded exercise.",
    )
    p.add_argument("notebook", type=Path, metavar="NOTEBOOK", help="path to your .ipynb")
    p.add_argument("--timeout", type=float, default=900, metavar="S", help="limit for the whole notebook (default 900)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..grading.selfcheck import check

    if not args.notebook.is_file():
        print(f"ftcourse check: no such notebook: {args.notebook}", file=sys.stderr)
        return 2
    result = check(args.notebook, timeout=args.timeout)
    rows = []
    for ex in result.exercises:
        verdict = "manual" if ex.earned is None else ("pass" if ex.passed else "FAIL")
        rows.append([ex.grade_id, ex.points, verdict, ex.error if verdict != "pass" else ""])
    if rows:
        print_table(["exercise", "points", "visible tests", "first error"], rows)
    else:
        print("This notebook has no graded exercises.")
    if result.problem:
        print(f"The run stopped early: {result.problem}")
    earned = sum(e.earned or 0 for e in result.exercises if e.earned is not None)
    auto = sum(e.points for e in result.exercises if e.earned is not None)
    print(f"\n{earned:g}/{auto:g} autograded points from visible tests ({result.seconds:.0f} s). "
          "Hidden tests run when your instructor grades.")
    return 0 if result.ok else 1
