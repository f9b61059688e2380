"""Score a solution notebook's exercises with one plausible mistake planted in an answer cell.

A mutant is ``(answer grade_id, text in that cell, the text that replaces it, test
grade_ids that must then lose their points)``. ``grader`` starts one kernel, runs the
context the exercises need (cell indexes, or source code standing in for a slow cell;
by default the first code cell: the imports), and yields
``run(mutant=None) -> {test grade_id: points earned}``, scored as nbgrader does.
With ``each_alone=True`` a mutant runs only its own answer cell and the test cells it
names, which is enough when no exercise builds on another's cells (02-data, not 04-lora,
whose methods are attached to the class one exercise at a time).
"""
from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.utils import determine_grade, is_grade

Mutant = tuple[str, str, str, set[str]]


@contextlib.contextmanager
def grader(path: Path, context: Iterable[int | str] | None = None, timeout: int = 120, each_alone: bool = False) -> Iterator:
    nb = nbformat.read(path, as_version=4)
    exercise_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and "nbgrader" in c.metadata]
    if context is None:
        context = [next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")]
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout, allow_errors=True, resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for i in context:
            cell = nb.cells[i] if isinstance(i, int) else nbformat.v4.new_code_cell(i)
            client.execute_cell(cell, i if isinstance(i, int) else 0)

        def run(mutant: Mutant | None = None) -> dict[str, float]:
            scores = {}
            for index, cell in exercise_cells:
                if mutant and each_alone and cell.metadata.nbgrader["grade_id"] not in {mutant[0], *mutant[3]}:
                    continue
                cell = copy.deepcopy(cell)
                if mutant and cell.metadata.nbgrader["grade_id"] == mutant[0]:
                    assert mutant[1] in cell.source, f"the mutant's text is not in cell {mutant[0]}: {mutant[1]!r}"
                    cell.source = cell.source.replace(mutant[1], mutant[2])
                client.execute_cell(cell, index)
                if is_grade(cell):
                    scores[cell.metadata.nbgrader["grade_id"]] = determine_grade(cell, None)[0]
            return scores

        yield run


def failing(scores: dict[str, float], mutant: Mutant) -> list[str]:
    """The tests a mutant should have failed but passed."""
    return sorted(t for t in mutant[3] if scores[t])


def mutant_tests(notebook: str, mutants: dict[str, Mutant], exercises: int, context=None, each_alone: bool = False):
    """The module-scoped ``grade`` fixture and the two tests of a notebook's mutant file, for
    ``grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(...)``.

    ``context`` is ``grader``'s, or a function of the notebook's cells that returns it.
    """
    @pytest.fixture(scope="module")
    def grade(root):
        path = root / "solutions" / notebook / f"{notebook}.ipynb"
        cells = nbformat.read(path, as_version=4).cells
        with grader(path, context(cells) if callable(context) else context, each_alone=each_alone) as run:
            yield run

    def test_the_solution_earns_every_point(grade):
        scores = grade()
        assert len(scores) == exercises and all(scores.values()), scores

    @pytest.mark.parametrize("name", mutants)
    def test_a_plausible_mistake_loses_points(grade, name):
        passing = failing(grade(mutants[name]), mutants[name])
        assert not passing, f"{name!r} (a mistake in {mutants[name][0]}) still passes {passing}"

    return grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points
