"""00-setup's hidden tests catch the plausible wrong answers, not only the blank one.

Each mutant below is a mistake a learner could make in ``count_parameters``. The
exercise cells of the solution notebook run with that mistake in one kernel, and the
test cell must then lose its points, scored as nbgrader does. The exercise needs no
context (no imports, no model), so none of the notebook's other cells run.
"""
from mutants import mutant_tests

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


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "00-setup", MUTANTS, exercises=1, context=[])
