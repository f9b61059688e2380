"""Every solution notebook runs top to bottom, hidden tests included; every blank one scores nothing."""
import pytest

from ftcourse.grading import layout
from ftcourse.grading.execute import execute
from ftcourse.grading.selfcheck import check

NAMES = layout.assignments(layout.find_root(__file__))


@pytest.mark.parametrize("name", NAMES)
def test_solution_notebook_executes(root, name, tmp_path):
    run = execute(layout.solution_notebook(root, name), timeout=600, save_to=tmp_path / f"{name}.ipynb")
    assert run.ok, f"{name}: {run.error}"


@pytest.mark.parametrize("name", NAMES)
def test_blank_release_passes_no_test(root, name):
    result = check(layout.release_notebook(root, name), timeout=600)
    graded = [e for e in result.exercises if e.earned is not None]
    assert graded, f"{name} has no autograded exercise"
    passing = [e.grade_id for e in graded if e.earned]
    assert not passing, f"{name}: these tests pass on the blank notebook, so they test nothing: {passing}"
