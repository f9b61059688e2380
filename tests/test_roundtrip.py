"""nbgrader, end to end in a scratch course: the solution scores full marks, the blank release zero."""
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from ftcourse.grading import layout


@pytest.fixture(scope="module")
def graded(root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course")
    name = "00-setup"
    shutil.copytree(root / "solutions" / name, tmp / "source" / name)
    db = f"sqlite:///{tmp}/gradebook.db"
    config = layout.nbgrader_config(
        root,
        CourseDirectory={
            "root": str(tmp),
            "source_directory": "source",
            "release_directory": "release",
            "submitted_directory": "submitted",
            "autograded_directory": "autograded",
            "db_url": db,
        },
    )
    api = NbGraderAPI(config=config)
    assert api.generate_assignment(name)["success"]
    submissions = {
        "star": tmp / "source" / name / f"{name}.ipynb",
        "blank": tmp / "release" / name / f"{name}.ipynb",
    }
    for student, notebook in submissions.items():
        dest = tmp / "submitted" / student / name
        dest.mkdir(parents=True)
        shutil.copy(notebook, dest / f"{name}.ipynb")
        result = api.autograde(name, student)
        assert result["success"], result.get("log")
    with Gradebook(db) as gb:
        scores = {s: gb.find_submission(name, s) for s in submissions}
        return {s: (sub.code_score, sub.max_code_score) for s, sub in scores.items()}, tmp


def test_solution_scores_full_points(graded):
    scores, _ = graded
    earned, possible = scores["star"]
    assert possible > 0 and earned == possible


def test_blank_release_scores_zero_without_crashing(graded):
    scores, tmp = graded
    earned, possible = scores["blank"]
    assert possible > 0 and earned == 0
    autograded = nbformat.read(tmp / "autograded" / "blank" / "00-setup" / "00-setup.ipynb", as_version=4)
    assert any(o.get("ename") == "NotImplementedError" for c in autograded.cells for o in c.get("outputs", []))
