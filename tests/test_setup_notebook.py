"""00-setup's hidden tests catch the plausible wrong answers, not only the blank one.

Each mutant below is a mistake a learner could make in ``count_parameters``. The
exercise cells of the solution notebook run with that mistake in one kernel, and the
test cell must then lose its points, scored as nbgrader does. The exercise needs no
context (no imports, no model), so none of the notebook's other cells run.
"""
import pytest
from mutants import failing, grader

ANSWER = "p.numel() for p in model.parameters() if p.requires_grad or not trainable_only"
TESTS = {"count_parameters_tests"}

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    "trainable_only ignored": ("count_parameters", ANSWER, "p.numel() for p in model.parameters()", TESTS),
    "always only the trainable ones": ("count_parameters", ANSWER, "p.numel() for p in model.parameters() if p.requires_grad", TESTS),
    "trainable_only read as 'frozen ones'": (
        "count_parameters", ANSWER, "p.numel() for p in model.parameters() if p.requires_grad == trainable_only", TESTS),
    "tensors counted, not values": ("count_parameters", ANSWER, "1 for p in model.parameters() if p.requires_grad or not trainable_only", TESTS),
    "rows counted, not values": ("count_parameters", ANSWER, "len(p) for p in model.parameters() if p.requires_grad or not trainable_only", TESTS),
    "a shared tensor counted twice": (
        "count_parameters", ANSWER,
        "p.numel() for m in model.modules() for p in m.parameters(recurse=False) if p.requires_grad or not trainable_only", TESTS),
    "the state dict counted": (
        "count_parameters", ANSWER, "p.numel() for p in model.state_dict().values() if p.requires_grad or not trainable_only", TESTS),
    "a tensor returned": (
        "count_parameters", "return int(sum(", "import torch\n    return torch.tensor(sum(", TESTS),
}


@pytest.fixture(scope="module")
def grade(root):
    with grader(root / "solutions" / "00-setup" / "00-setup.ipynb", context=[]) as run:
        yield run


def test_the_solution_earns_every_point(grade):
    scores = grade()
    assert scores == {"count_parameters_tests": 2}, scores


@pytest.mark.parametrize("name", MUTANTS)
def test_a_plausible_mistake_loses_points(grade, name):
    passing = failing(grade(MUTANTS[name]), MUTANTS[name])
    assert not passing, f"{name!r} (a mistake in {MUTANTS[name][0]}) still passes {passing}"
