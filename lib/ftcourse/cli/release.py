"""``ftcourse release``: generate notebooks/ from solutions/, or check that it matches."""
from __future__ import annotations

import argparse
import sys

from .common import course_root


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "release",
        help="generate student notebooks from the solutions",
        description="Regenerate notebooks/ from solutions/ with nbgrader (solutions, hidden tests and outputs removed).",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="assignments to release, e.g. 04-lora or 04 (default: all)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if notebooks/ differs from a fresh release")
    p.add_argument("--zip", action="store_true",
                   help="also pack each released assignment as a student hand-out: build/handout/NAME.zip")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..grading import release as releasing

    root = course_root(args)
    if args.check:
        diffs = releasing.check(root)
        for d in diffs:
            print(f"differs: {d}", file=sys.stderr)
        if diffs:
            print("notebooks/ is out of date: run `ftcourse release` and commit the result.", file=sys.stderr)
            return 1
        print("notebooks/ matches a fresh release of solutions/.")
        return 0
    names = releasing.release(root, args.names)
    for name in names:
        print(f"released notebooks/{name}")
    if args.zip:
        for archive in releasing.handout(root, names, root / "build" / "handout"):
            print(f"hand-out {archive.relative_to(root)}")
    return 0
