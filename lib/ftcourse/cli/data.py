"""``ftcourse data``: check a chat JSONL file before you train on it."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .. import chat
from .common import build_or_check

EXIT_CODES = """exit status:
  0  no errors (warnings may remain)
  1  the file has errors
  2  the file could not be read at all (missing, a directory, no permission), or bad arguments"""


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("data", help="check chat training data", description="Tools for chat training data.")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    v = sub.add_parser(
        "validate",
        help="check a chat JSONL file line by line",
        description="Check every line of a chat JSONL file ({\"messages\": [{\"role\": ..., \"content\": ...}]} per line) "
                    "and report each problem with its line number, then the counts by problem code.",
        epilog=EXIT_CODES + "\n\nproblem codes:\n" + "\n".join(f"  {c:<19} {s:<8} {d}" for c, (s, d) in chat.CODES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("file", metavar="FILE", help="the .jsonl file to check")
    v.add_argument("--json", action="store_true", help="print the report as one JSON object (every problem, no limit)")
    v.add_argument("--limit", type=int, default=200, metavar="N", help="show at most N problems in the text report (0: all; default 200)")
    v.add_argument("--tokenizer", metavar="NAME", default=chat.COURSE_TOKENIZER,
                   help="count tokens with this tokenizer's chat template (a folder or hub id) and warn about examples "
                        "over the context (default: the course model's, %(default)s)")
    v.add_argument("--max-tokens", type=int, metavar="N", help="the context to check against (default: the tokenizer's model_max_length)")
    v.add_argument("--no-token-check", action="store_true", help="skip counting tokens (faster; lengths are not checked)")
    v.set_defaults(handler=validate)
    b = sub.add_parser("build", help="write the LandAI clean and messy data sets",
                       description="Generate the LandAI clean and messy chat data sets (seeded) as JSONL under the package.")
    b.add_argument("--out", type=Path, default=None, metavar="DIR", help="where to write (default: the package's data folder)")
    b.add_argument("--check", action="store_true", help="change nothing; exit 1 if a committed file differs from a fresh build")
    b.set_defaults(handler=build)


def validate(args: argparse.Namespace) -> int:
    tokenizer = None if args.no_token_check else args.tokenizer
    if tokenizer is not None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")  # a command of its own: let the Rust tokenizer use every core
    if tokenizer not in (None, chat.COURSE_TOKENIZER):  # one the user named: it must load, before any file is read
        from .. import tokens

        try:
            tokenizer = tokens.load_tokenizer(tokenizer)
        except (OSError, ValueError) as exc:
            print(f"ftcourse data validate: cannot load tokenizer {args.tokenizer!r}: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
    options = {"tokenizer": tokenizer, "max_tokens": args.max_tokens}
    try:
        report = chat.validate_file(args.file, **options)
    except OSError as exc:
        why = {IsADirectoryError: "is a directory, not a file", FileNotFoundError: "no such file", PermissionError: "permission denied"}
        message = f"ftcourse data validate: {args.file}: {why.get(type(exc), exc.strerror or str(exc))}"
        if args.json:
            print(json.dumps({"path": args.file, "ok": False, "error": message}))
        print(message, file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.format(limit=args.limit))
    return 0 if report.ok else 1


def build(args: argparse.Namespace) -> int:
    from ..world import messy

    return build_or_check(args.out or messy.DATA_DIR, check=args.check, build=messy.build, stale=messy.stale,
                          count=len(messy.FILES), what="LandAI data sets", command="ftcourse data build", unit="lines")
