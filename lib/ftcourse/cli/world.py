"""``ftcourse world build``: regenerate the course world's committed data files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..world import files


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "world",
        help="generate the course world's data files (parcels, commits, tickets)",
        description="The course world's data: seeded generators written out as JSONL under the package.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = actions.add_parser("build", help="write the JSONL data files", description="Write the world's JSONL data files.")
    b.add_argument("--out", type=Path, default=files.DATA_DIR, metavar="DIR", help=f"where to write (default: {files.DATA_DIR})")
    b.add_argument("--check", action="store_true", help="change nothing; exit 1 if a committed file differs from a fresh build")
    b.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.check:
        stale = files.stale(args.out)
        for name in stale:
            print(f"differs: {args.out / name}", file=sys.stderr)
        if stale:
            print("the data files are out of date: run `ftcourse world build` and commit the result.", file=sys.stderr)
            return 1
        print(f"{len(files.FILES)} data files match a fresh build.")
        return 0
    for path in files.build(args.out):
        print(f"wrote {path} ({sum(1 for _ in open(path, encoding='utf-8'))} rows)")
    return 0
