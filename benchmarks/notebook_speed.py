"""How long each solution notebook takes, idle and beside busy processes, against the grader's cell limit.

Run by hand:  .venv/bin/python benchmarks/notebook_speed.py [NAME ...] [--busy 2]

Each notebook runs once on the machine as it is, then once more with ``--busy`` processes
per core spinning beside it (a laptop that is also doing other work). For each run it
prints the whole notebook's seconds and its slowest cells, with the grader's limit per
cell (``Execute.timeout`` in nbgrader_config.py): a cell over it fails when graded.
The machine's load average is printed with the numbers.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
from datetime import datetime
from pathlib import Path

from ftcourse.grading import layout
from ftcourse.grading.execute import describe_cell, execute

ROOT = Path(__file__).resolve().parent.parent


def spin() -> None:
    while True:
        pass


def cell_seconds(nb) -> list[tuple[float, int]]:
    """(seconds, index) of every executed code cell, from the timings nbclient records."""
    out = []
    for i, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            out.append(((datetime.fromisoformat(end.rstrip("Z")) - datetime.fromisoformat(start.rstrip("Z"))).total_seconds(), i))
    return sorted(out, reverse=True)


def measure(name: str, limit: float) -> str:
    load = os.getloadavg()[0]
    run = execute(layout.solution_notebook(ROOT, name), timeout=1800, cell_timeout=limit)
    slowest = cell_seconds(run.notebook)[:3]
    cells = ", ".join(f"{s:.0f} s {describe_cell(run.notebook, i)}" for s, i in slowest)
    return f"{name:<10} {run.seconds:7.1f} s  {run.status:<7} load {load:4.1f}  slowest: {cells}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebooks, e.g. 04 (default: all)")
    parser.add_argument("--busy", type=int, default=2, help="spinning processes per core for the second run (default 2)")
    args = parser.parse_args()
    limit = float(layout.nbgrader_config(ROOT).Execute.get("timeout", 180))
    names = layout.resolve_names(ROOT, args.names)
    print(f"grader's limit per cell: {limit:g} s; {os.cpu_count()} cores\n\nas the machine is:")
    for name in names:
        print(measure(name, limit), flush=True)
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy * (os.cpu_count() or 1))]
    for p in spinners:
        p.start()
    try:
        print(f"\nwith {len(spinners)} busy processes beside it ({args.busy} per core):")
        for name in names:
            print(measure(name, limit), flush=True)
    finally:
        for p in spinners:
            p.terminate()


if __name__ == "__main__":
    main()
