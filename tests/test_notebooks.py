"""Every solution notebook runs top to bottom, hidden tests included; every blank one scores nothing.

Where the browser tests run (tests/test_browser.py), a blank notebook is scored from the run
JupyterLab saved, and the solution notebook the browser runs is judged from that run: each
notebook runs once per session.
"""
import labdriver
import pytest

from ftcourse.grading import layout
from ftcourse.grading.execute import execute
from ftcourse.grading.selfcheck import check, exercises

ROOT = layout.find_root(__file__)
NAMES = layout.assignments(ROOT)
SOLVED = labdriver.SOLVED  # run in the browser: its test shares that worker under xdist


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(n)) if n == SOLVED else n for n in NAMES])
def test_solution_notebook_executes(root, name, tmp_path, lab):
    if not lab.reason and name == SOLVED:
        run = lab.solved(name)
        errors = [f"cell {i}: {out.ename}: {out.evalue}" for i, cell in enumerate(run.saved.cells)
                  for out in cell.get("outputs", []) if out.output_type == "error"]
        assert not run.stopped and not errors, f"{name} in JupyterLab: {run.stopped or errors[0]}"
        return
    run = execute(layout.solution_notebook(root, name), timeout=600, save_to=tmp_path / f"{name}.ipynb")
    assert run.ok, f"{name}: {run.error}"


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(n)) for n in NAMES])
def test_blank_release_passes_no_test(root, name, lab):
    if lab.reason:
        found = check(layout.release_notebook(root, name), timeout=600).exercises
    else:
        found = exercises(lab.release(name).saved)
    graded = [e for e in found if e.earned is not None]
    assert graded, f"{name} has no autograded exercise"
    passing = [e.grade_id for e in graded if e.earned]
    assert not passing, f"{name}: these tests pass on the blank notebook, so they test nothing: {passing}"
