"""A learner's self-check: run my notebook, tell me which exercises pass.

It scores each test cell exactly as the grader will (nbgrader's own
``determine_grade`` on outputs judged by ``submission.as_graded``), so a pass here
is a pass there, hidden tests aside.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbgrader.utils import determine_grade, is_grade, is_solution

from .submission import as_graded
from .execute import error_line, execute


@dataclass
class Exercise:
    grade_id: str
    points: float
    earned: float | None  # None: graded by the instructor
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.earned is not None and self.earned >= self.points


@dataclass
class SelfCheck:
    exercises: list[Exercise]
    seconds: float
    problem: str = ""  # the run itself stopped (timeout, dead kernel): which cell, and what to do

    @property
    def ok(self) -> bool:
        return not self.problem and all(e.passed for e in self.exercises if e.earned is not None)


def check(path: Path | str, *, timeout: float = 900, cell_timeout: float = 300) -> SelfCheck:
    """Execute the notebook in a fresh kernel (the file is not modified) and score its test cells."""
    run = execute(path, timeout=timeout, cell_timeout=cell_timeout, allow_errors=True)
    return SelfCheck(exercises(run.notebook), run.seconds, run.error if run.status in ("timeout", "error") else "")


def exercises(nb) -> list[Exercise]:
    """Each graded cell of an executed notebook, scored as the grader scores it."""
    found = []
    for cell in nb.cells:
        if not is_grade(cell):
            continue
        meta = cell.metadata.nbgrader
        points = float(meta.get("points", 0))
        if is_solution(cell):
            found.append(Exercise(meta["grade_id"], points, None, "graded by your instructor"))
            continue
        executed = "execution_count" in cell and cell.execution_count is not None
        earned, _ = determine_grade(as_graded(cell), None) if executed else (0.0, points)
        found.append(Exercise(meta["grade_id"], points, earned, _failure(cell) if executed else "did not run"))
    return found


def _failure(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            hint = " (the exercise is not answered yet)" if output.get("ename") == "NotImplementedError" else ""
            return error_line(output) + hint
    return ""
