"""What does ``ftcourse grade`` cost over stock nbgrader, and what does ``--jobs 2`` buy?

Grades the same class of submissions of 00-setup (half correct, a quarter wrong, a
quarter blank) from scratch, several ways, and prints the wall times side by side:

- ``nbgrader autograde``: stock nbgrader, one process, one submission after another;
- ``nbgrader autograde + generate_feedback``: the same work ``ftcourse grade`` does;
- ``ftcourse grade --jobs 1``: each submission in its own process and sandbox, with feedback;
- ``ftcourse grade --jobs 2``.

It prints the load average as each command starts (other work on the machine skews
wall times) and checks that all of them give the same scores. Run by hand, on an idle
machine:

    .venv/bin/python benchmarks/grade_speed.py [--students 40]
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from ftcourse.grading import layout

NAME = "00-setup"
ANSWERS = {
    "correct": "def count_parameters(model, trainable_only=False):\n"
               "    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))",
    "wrong": "def count_parameters(model, trainable_only=False):\n    return sum(p.numel() for p in model.parameters())",
}
KINDS = ["correct", "wrong", "correct", "blank"]


def write_class(root: Path, folder: Path, students: int) -> None:
    released = nbformat.read(layout.release_notebook(root, NAME), as_version=4)
    for i in range(students):
        nb = copy.deepcopy(released)
        kind = KINDS[i % len(KINDS)]
        for cell in nb.cells:
            if kind != "blank" and cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = ANSWERS[kind]
        path = folder / f"s{i:03d}" / NAME / f"{NAME}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)


@dataclass
class Timing:
    wall: float  # seconds
    load: float  # the 1-minute load average when it started

    def __add__(self, other: "Timing") -> "Timing":
        return Timing(self.wall + other.wall, self.load)


def timed(cmd: list[str], cwd: Path) -> Timing:
    load, start = os.getloadavg()[0], time.perf_counter()
    run = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return Timing(wall, load)


def stock(root: Path, tmp: Path, submissions: Path) -> tuple[Timing, Timing, dict[str, float]]:
    """Stock nbgrader in a scratch course: (autograde, generate_feedback, scores)."""
    scratch = tmp / "stock"
    shutil.copytree(root / "solutions" / NAME, scratch / "source" / NAME)
    shutil.copytree(submissions, scratch / "submitted")
    (scratch / "build").mkdir()
    config = (root / layout.CONFIG_FILE).read_text().replace("here = os.path.dirname(os.path.abspath(__file__))",
                                                              f"here = {str(scratch)!r}")
    (scratch / layout.CONFIG_FILE).write_text(config.replace('"solutions"', '"source"').replace('"notebooks"', '"release"'))
    nbgrader = [str(Path(sys.executable).parent / "nbgrader")]
    timed([*nbgrader, "generate_assignment", NAME, "--force"], scratch)
    autograde = timed([*nbgrader, "autograde", NAME, "--force"], scratch)
    feedback = timed([*nbgrader, "generate_feedback", NAME, "--force"], scratch)
    with Gradebook(f"sqlite:///{scratch / 'build' / 'gradebook.db'}") as gb:
        scores = {s.student.id: float(s.score) for s in gb.find_assignment(NAME).submissions}
    return autograde, feedback, scores


def ftcourse(root: Path, tmp: Path, submissions: Path, jobs: int) -> tuple[Timing, dict[str, float]]:
    out = tmp / f"out-jobs{jobs}"
    seconds = timed([str(Path(sys.executable).parent / "ftcourse"), "--course", str(root), "grade", str(submissions),
                     "--out", str(out), "--jobs", str(jobs)], root)
    with open(out / "grades.csv") as f:
        return seconds, {row["student"]: float(row["score"]) for row in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=40)
    args = parser.parse_args()
    root = layout.find_root(__file__)
    layout.ensure_env_bin_on_path()
    with tempfile.TemporaryDirectory(prefix="ftcourse-bench-") as tmp:
        tmp = Path(tmp)
        write_class(root, tmp / "submissions", args.students)
        autograde, feedback, stock_scores = stock(root, tmp, tmp / "submissions")
        one, scores_one = ftcourse(root, tmp, tmp / "submissions", 1)
        two, scores_two = ftcourse(root, tmp, tmp / "submissions", 2)
    n, base, same_work = args.students, autograde, autograde + feedback
    rows = [
        ("nbgrader autograde", autograde, "baseline"),
        ("nbgrader autograde + generate_feedback", same_work, f"{same_work.wall / base.wall:.2f}x"),
        ("ftcourse grade --jobs 1", one, f"{one.wall / base.wall:.2f}x, {one.wall / same_work.wall:.2f}x the same work"),
        ("ftcourse grade --jobs 2", two, f"{two.wall / base.wall:.2f}x, {one.wall / two.wall:.2f}x faster than --jobs 1"),
    ]
    print(f"{n} submissions of {NAME} on {os.cpu_count()} CPUs\n")
    print(f"{'':40}{'seconds':>8}{'per sub':>9}{'load':>6}   vs nbgrader autograde")
    for label, t, ratio in rows:
        print(f"{label:40}{t.wall:8.1f}{t.wall / n:9.2f}{t.load:6.2f}   {ratio}")
    same = stock_scores == scores_one == scores_two
    print(f"\nsame scores from all three: {'yes' if same else 'NO'} (total {sum(stock_scores.values()):g} of {2 * n} points)")
    print("load: the 1-minute load average as each command started; above ~1.5 the wall times are not to be trusted")


if __name__ == "__main__":
    main()
