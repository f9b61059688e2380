"""``ftcourse run``: execute solution notebooks headless and time them."""
from __future__ import annotations

import argparse

from tqdm.auto import tqdm

from ..grading import layout
from .common import course_root, print_table


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "run",
        help="execute solution notebooks and print how long each took",
        description="Execute solution notebooks in order in fresh kernels; executed copies go to build/executed/.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="notebooks to run, e.g. 04-lora or 04 (default: all)")
    p.add_argument("--timeout", type=float, default=600, metavar="S", help="limit per notebook in seconds (default 600)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..grading.execute import execute

    root = course_root(args)
    names = layout.resolve_names(root, args.names)
    rows = []
    for name in tqdm(names, desc="notebooks", unit="nb"):
        run = execute(
            layout.solution_notebook(root, name),
            timeout=args.timeout,
            save_to=root / "build" / "executed" / f"{name}.ipynb",
        )
        rows.append([name, round(run.seconds, 1), run.status, run.error])
    print_table(["notebook", "seconds", "status", "error"], rows)
    return 0 if all(r[2] == "ok" for r in rows) else 1
