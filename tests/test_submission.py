"""What ``inspect`` reports and repairs before nbgrader sees a notebook (no kernel needed)."""
import copy

import nbformat
import pytest

from ftcourse.grading import layout
from ftcourse.grading.submission import FeedbackExporter, HideHiddenTests, VerdictTable, inspect

TEST_ID = "count_parameters_tests"


@pytest.fixture
def release(root):
    return nbformat.read(layout.release_notebook(root, "00-setup"), as_version=4)


def the_test_cell(nb):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == TEST_ID)


def test_an_untouched_release_raises_no_flag(release):
    nb, flags = inspect(release, release)
    assert flags == [] and nb == release and nb is not release


def test_edited_points_and_metadata_are_restored_and_reported(release):
    nb = copy.deepcopy(release)
    the_test_cell(nb).source = "pass"
    the_test_cell(nb).metadata.nbgrader.update(points=99, locked=False)
    fixed, flags = inspect(nb, release)
    assert the_test_cell(fixed).metadata.nbgrader == the_test_cell(release).metadata.nbgrader
    assert any("was edited" in f for f in flags) and any("changed to 99: restored to 2" in f for f in flags)
    assert the_test_cell(nb).source == "pass", "the submission itself is left as it was"


def test_duplicates_keep_the_first_and_unknown_ids_lose_their_metadata(release):
    nb = copy.deepcopy(release)
    i = nb.cells.index(the_test_cell(nb))
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "made_up", "grade": True, "points": 5}}))
    fixed, flags = inspect(nb, release)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in fixed.cells]
    assert ids.count(TEST_ID) == 1 and ids.index(TEST_ID) == i and "made_up" not in ids
    assert any("appears 2 times" in f for f in flags) and any("'made_up' is not part of the assignment" in f for f in flags)


def test_a_test_cell_re_pointed_at_the_answer_loses_its_metadata_and_the_original_comes_back(release):
    nb = copy.deepcopy(release)
    the_test_cell(nb).metadata.nbgrader["grade_id"] = "count_parameters"
    fixed, flags = inspect(nb, release)
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in fixed.cells].count("count_parameters") == 1
    assert any("count_parameters appears 2 times" in f for f in flags)
    assert any(f"{TEST_ID} lost its grading metadata: the original is put back" in f for f in flags)


@pytest.mark.parametrize("how, expected", [("delete", "was deleted"), ("strip", "lost its grading metadata")])
def test_missing_test_cells_are_reported(release, how, expected):
    nb = copy.deepcopy(release)
    if how == "delete":
        nb.cells.remove(the_test_cell(nb))
    else:
        the_test_cell(nb).metadata.pop("nbgrader")
    assert any(expected in f and "the original is put back" in f for f in inspect(nb, release)[1])


def test_reordered_graded_cells_are_reported(release):
    nb = copy.deepcopy(release)
    cell = the_test_cell(nb)
    nb.cells.remove(cell)
    nb.cells.insert(0, cell)
    assert any("reordered" in f for f in inspect(nb, release)[1])


def test_feedback_keeps_verdicts_and_drops_hidden_code_and_quotes_of_it(root):
    nb = nbformat.read(layout.solution_notebook(root, "00-setup"), as_version=4)
    cell = the_test_cell(nb)
    hidden_line = "_tied = _nn.ModuleList([_emb, _head])"
    assert hidden_line in cell.source
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="a tensor shared by two layers counts once",
                                           traceback=["---", f"----> 7 {hidden_line}", "AssertionError: ..."])]
    quoting = nbformat.v4.new_code_cell("print(open('00-setup.ipynb').read())")
    quoting.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"...{hidden_line}...")]
    nb.cells.append(quoting)
    shown, _ = HideHiddenTests().preprocess(nb, {})
    text = nbformat.writes(shown)
    assert hidden_line not in text and "BEGIN HIDDEN TESTS" not in text
    assert "AssertionError: a tensor shared by two layers counts once" in text
    assert "output withheld" in text and "hidden tests are not shown" in text


def test_feedback_opens_with_each_test_its_verdict_and_error(release):
    nb = copy.deepcopy(release)
    cell = the_test_cell(nb)
    cell.metadata.nbgrader.update(score=0.0, points=2.0)
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="expected 55 | got <b>1</b>", traceback=[])]
    summary = VerdictTable().preprocess(nb, {})[0].cells[0].source
    assert f"| {TEST_ID} | failed | 0 / 2 | AssertionError: expected 55 \\| got &lt;b&gt;1&lt;/b&gt; |" in summary


def test_feedback_pages_carry_no_script_from_a_students_output(release):
    nb = copy.deepcopy(release)
    nb.cells[0].outputs = []
    nb.cells.append(nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": "<script>alert('x')</script><b>hi</b>"})]))
    page, _ = FeedbackExporter().from_notebook_node(nb)
    assert "<script>alert" not in page and "<b>hi</b>" in page
