"""04-lora's hidden tests catch the plausible wrong answers, not only the blank ones.

Each mutant below is a mistake a learner could make in one answer cell. The
exercise cells of the solution notebook run with that mistake in one kernel,
and the named test cells must then lose their points, scored as nbgrader does.
"""
from mutants import mutant_tests

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    "B starts random": ("lora_init", "torch.zeros(base.out_features", "torch.randn(base.out_features", {"lora_init_tests"}),
    "A starts at zero": ("lora_init", "nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))", "nn.init.zeros_(self.lora_A)", {"lora_init_tests"}),
    "scaling is alpha": ("lora_init", "self.scaling = alpha / r", "self.scaling = alpha", {"lora_init_tests", "lora_forward_tests"}),
    "scaling is r / alpha": ("lora_init", "self.scaling = alpha / r", "self.scaling = r / alpha", {"lora_init_tests"}),
    "base left trainable": ("lora_init", "p.requires_grad_(False)", "p.requires_grad_(True)", {"lora_init_tests"}),
    "bias left trainable": ("lora_init", "for p in base.parameters():", "for p in [base.weight]:", {"lora_init_tests"}),
    "forward without scaling": ("lora_forward", " * self.scaling", "", {"lora_forward_tests"}),
    "forward scaled by alpha": ("lora_forward", " * self.scaling", " * self.alpha", {"lora_forward_tests"}),
    "dropout on the base path": ("lora_forward", "result = self.base(x)", "result = self.base(self.dropout(x))", {"lora_forward_tests"}),
    "dropout after A": ("lora_forward", "F.linear(self.dropout(x), self.lora_A)", "self.dropout(F.linear(x, self.lora_A))", {"lora_forward_tests"}),
    "dropout on the update": (
        "lora_forward",
        "F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B)",
        "self.dropout(F.linear(F.linear(x, self.lora_A), self.lora_B))",
        {"lora_forward_tests"},
    ),
    "merged flag ignored": ("lora_forward", "if self.merged:\n        return result\n", "", {"lora_forward_tests"}),
    "delta without scaling": ("lora_merge", "self.lora_B @ self.lora_A * self.scaling", "self.lora_B @ self.lora_A", {"lora_merge_tests"}),
    "merging twice allowed": ("lora_merge", 'raise RuntimeError("already merged")', "pass", {"lora_merge_tests"}),
    "merge not undone": ("lora_merge", "self.base.weight -= self.delta_weight()", "pass", {"lora_merge_tests"}),
    "merge recorded by autograd": ("lora_merge", "with torch.no_grad():\n        self.base.weight +=", "if True:\n        self.base.weight +=", {"lora_merge_tests"}),
    "unmerging an unmerged layer allowed": ("lora_merge", 'raise RuntimeError("not merged")', "pass", {"lora_merge_tests"}),
    "rest of the model left trainable": ("mark_only_lora_trainable", "model.requires_grad_(False)", "pass", {"mark_only_lora_trainable_tests", "add_lora_tests"}),
    "frozen adapters stay frozen": ("mark_only_lora_trainable", "module.lora_A.requires_grad_(True)", "pass", {"mark_only_lora_trainable_tests"}),
    "targets matched as substrings": ("add_lora", 'name == t or name.endswith("." + t)', "t in name", {"add_lora_tests"}),
    "targets matched without the dot": ("add_lora", 'name == t or name.endswith("." + t)', "name.endswith(t)", {"add_lora_tests"}),
    "no match passes silently": ("add_lora", 'raise ValueError(f"no nn.Linear matches {target_modules}")', "pass", {"add_lora_tests"}),
    "a second injection allowed": ("add_lora", 'raise ValueError("this model already has LoRA layers")', "pass", {"add_lora_tests"}),
    "injection does not freeze": ("add_lora", "    mark_only_lora_trainable(model)\n", "", {"add_lora_tests"}),
    "dropout not passed on": ("add_lora", "LoRALinear(linear, r, alpha, dropout)", "LoRALinear(linear, r, alpha)", {"add_lora_tests"}),
    "all parameters counted as trainable": ("trainable_parameters", " if p.requires_grad", "", {"trainable_parameters_tests"}),
    "a plain tuple returned": ("trainable_parameters", "return ParameterCount(", "return (", {"trainable_parameters_tests"}),
    "shared tensors counted twice": (
        "trainable_parameters",
        "params = list(model.parameters())",
        "params = [p for m in model.modules() for p in m.parameters(recurse=False)]",
        {"trainable_parameters_tests"},
    ),
}


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "04-lora", MUTANTS, exercises=6)
