"""``ftcourse grade``: autograde a folder of submissions with nbgrader, each one isolated."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..grading import sandbox
from .common import course_root, print_table

NOTEBOOK_TIMEOUT = 900  # seconds; ftcourse.grading.classroom.Settings' default (a test keeps the two equal)
LAYOUTS = """submissions are read in either layout:
  SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb   (nbgrader collect)
  SUBMISSIONS/<student>__<notebook>.ipynb               (a flat download, e.g. ada__00-setup.ipynb)
"""


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "grade",
        help="autograde submissions (nbgrader, hidden tests, each in its own sandbox)",
        description="Autograde every submission with nbgrader, each in its own process and sandbox;\n"
                    "write DIR/grades.csv and per-student feedback in DIR/feedback/.\n"
                    "Rerunning reuses the stored results and grades only what is new or changed.",
        epilog=LAYOUTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="folder of submitted notebooks")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="where grades, feedback and state go")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="submissions graded in parallel (default 1)")
    p.add_argument("--assignment", action="append", metavar="NAME", help="grade only this assignment (repeatable)")
    p.add_argument("--cell-timeout", type=float, default=None, metavar="S",
                   help="seconds per cell (default: Execute.timeout in nbgrader_config.py)")
    p.add_argument("--timeout", type=float, default=NOTEBOOK_TIMEOUT, metavar="S",
                   help=f"seconds for a whole notebook (default {NOTEBOOK_TIMEOUT:g})")
    p.add_argument("--memory", type=float, default=None, metavar="GIB",
                   help=f"address space per kernel process in GiB (default {sandbox.Limits.memory / sandbox.GiB:g}, "
                        "or less if --jobs kernels would not fit in RAM)")
    p.add_argument("--regrade", action="store_true", help="grade everything again, ignoring stored results")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..grading.layout import nbgrader_config
    from ..grading.classroom import Settings, grade

    root = course_root(args)
    if args.jobs < 1:
        print("ftcourse grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    cell_timeout = args.cell_timeout or float(nbgrader_config(root).Execute.get("timeout", Settings.cell_timeout))
    limits = sandbox.Limits(memory=int(args.memory * sandbox.GiB)) if args.memory else sandbox.Limits.fitting(args.jobs)
    settings = Settings(jobs=args.jobs, cell_timeout=cell_timeout, notebook_timeout=args.timeout, limits=limits,
                        regrade=args.regrade)
    sandbox.become_subreaper()
    try:
        report = grade(root, args.submissions, args.out, args.assignment, settings, notify=print)
    except (FileNotFoundError, ValueError) as exc:
        print(f"ftcourse grade: {exc}", file=sys.stderr)
        return 2
    finally:
        sandbox.end_descendants()
    for line in report.skipped:
        print(f"skipped {line}")
    rows = [[r["student"], r["notebook"], f"{r['score']}/{r['max']}", _short(r["flags"])] for r in report.rows]
    if rows:
        print_table(["student", "notebook", "score", "flags"], rows)
    print(f"\n{len({(r['student'], r['assignment']) for r in report.rows})} submissions "
          f"({report.graded} graded now, the rest from earlier runs); {sum(bool(r['flags']) for r in report.rows)} flagged.")
    print(f"grades: {args.out / 'grades.csv'}   feedback: {args.out / 'feedback'}/<student>/<assignment>/")
    return 0 if rows else 1


def _short(flags: str, width: int = 70) -> str:
    items = [f for f in flags.split(" | ") if f]
    if not items:
        return ""
    first = items[0] if len(items[0]) <= width else items[0][: width - 1] + "…"
    return first + (f" (+{len(items) - 1} more)" if len(items) > 1 else "")
