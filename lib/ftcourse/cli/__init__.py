"""The ``ftcourse`` command: one module per subcommand group, each with ``--help``.

Each group imports its machinery (nbgrader, torch) inside its handler, so the command starts
in a fraction of a second, and so does every grading process, which imports this module again.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import __version__
from ..grading.layout import CourseNotFound
from . import check, data, grade, model, release, run, world

GROUPS = [release, run, check, grade, world, data, model]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ftcourse",
        description="Tools for the fine-tuning course: release notebooks, run them, check your work.",
    )
    parser.add_argument("--version", action="version", version=f"ftcourse {__version__}")
    parser.add_argument("--course", type=Path, default=None, help="the course folder (default: found from the current folder)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except CourseNotFound as exc:
        print(f"ftcourse: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftcourse: interrupted", file=sys.stderr)
        return 130
