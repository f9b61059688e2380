"""``ftcourse world build``: regenerate the course world's committed data files."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..world import files
from .common import build_or_check


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
    return build_or_check(args.out, check=args.check, build=files.build, stale=files.stale, count=len(files.FILES),
                          what="data files", command="ftcourse world build", unit="rows")
