"""08-interview's hidden tests catch the plausible wrong answers, not only the blank ones.

Each mutant below is a mistake a candidate could make in one answer cell. The
exercise cells of the solution notebook run with that mistake in one kernel (after
the imports and the cells whose results the tests read), and the named test cells
must then lose their points, scored as nbgrader does.
"""
from mutants import mutant_tests

LONG = ("The prompt works, but at 200,000 commits a day its 600 tokens cost too much, so train the labelling into a small model's weights, "
        "which then labels every commit with a bare prompt, faster and far cheaper than the long few-shot prompt we use today.")

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    "rubric: substring match": ("covers", "    said = rubric.words(answer)\n", "    return phrasing.rstrip('*') in answer.lower()\n", {"covers_tests"}),
    "rubric: words split at spaces only": ("covers", "said = rubric.words(answer)", "said = answer.split()", {"covers_tests"}),
    "rubric: stems ignored": ("covers", 'return word.startswith(pattern[:-1]) if pattern.endswith("*") else word == pattern',
                              "return word == pattern", {"covers_tests"}),
    "rubric: words anywhere, in any order": (
        "covers",
        "return any(all(same(said[start + k], w) for k, w in enumerate(wanted)) for start in range(len(said) - len(wanted) + 1))",
        "return all(any(same(s, w) for s in said) for w in wanted)", {"covers_tests"}),
    "rubric: the last position skipped": ("covers", "range(len(said) - len(wanted) + 1)", "range(len(said) - len(wanted))", {"covers_tests"}),
    "rubric: a stem matched both ways": ('covers', 'word.startswith(pattern[:-1])', '(word.startswith(pattern[:-1]) or pattern[:-1].startswith(word))',
                                        {"covers_tests"}),
    "reps: fine-tuning the wiki in": ("decision_reps", '"wiki-chatbot": ("RAG",', '"wiki-chatbot": ("fine-tune",', {"decision_reps_tests"}),
    "reps: RAG for a strict format": ("decision_reps", '"exact-json-schema": ("fine-tune",', '"exact-json-schema": ("RAG",', {"decision_reps_tests"}),
    "reps: fine-tuning facts about a new library": ("decision_reps", '"new-library": ("RAG",', '"new-library": ("fine-tune",', {"decision_reps_tests"}),
    "reps: a fine-tune as a database": ("decision_reps", '"memorise-the-listings": ("RAG",', '"memorise-the-listings": ("fine-tune",', {"decision_reps_tests"}),
    "reps: fine-tuning before trying a prompt": ("decision_reps", '"commit-labels-untried": ("prompt",', '"commit-labels-untried": ("fine-tune",', {"decision_reps_tests"}),
    "reps: one tool where two compose": ("decision_reps", '"report-writer-end-to-end": ("RAG + fine-tune",', '"report-writer-end-to-end": ("fine-tune",', {"decision_reps_tests"}),
    "reps: prompting at volume": ("decision_reps", '"brand-voice-at-scale": ("fine-tune",', '"brand-voice-at-scale": ("prompt",', {"decision_reps_tests"}),
    "reps: a working prompt kept at any volume": ("decision_reps", '"commit-labels-in-ci": ("fine-tune",', '"commit-labels-in-ci": ("prompt",', {"decision_reps_tests"}),
    "reps: a defence without reasons": (
        "decision_reps",
        '"Brand voice is behaviour, and at 50,000 tickets a day a long style prompt costs tokens on every request, while a fine-tune learns the voice once."',
        '"It is clearly the best option for this job."', {"decision_reps_tests"}),
    "reps: two sentences": (
        "decision_reps", "at request time, because a fine-tune", "at request time. A fine-tune", {"decision_reps_tests"}),
    "reps: an abbreviation's full stop mid-sentence": (
        "decision_reps", "The wiki is knowledge the model lacks and", "The wiki is knowledge the model lacks (e.g. HR policies) and",
        {"decision_reps_tests"}),
    "reps: a defence of over 40 words": (
        "decision_reps",
        '"The prompt works, but at 200,000 commits a day its 600 tokens cost too much, so train the labelling into a small model\'s weights."',
        repr(LONG), {"decision_reps_tests"}),
    "curves: overfitting taken for healthy": ("read_the_curve", '"C": "overfitting", "D": "healthy"', '"C": "healthy", "D": "overfitting"',
                                              {"read_the_curve_tests"}),
    "curves: no masking taken for a high learning rate": ("read_the_curve", '"A": "too_high_lr", "B": "no_masking"',
                                                         '"A": "no_masking", "B": "too_high_lr"', {"read_the_curve_tests"}),
    "curves: the healthy run called unmasked": ("read_the_curve", '"B": "no_masking", "C": "overfitting", "D": "healthy"',
                                                '"B": "healthy", "C": "overfitting", "D": "no_masking"', {"read_the_curve_tests"}),
    "curves: stop at the last epoch": ("read_the_curve", "stop_after_epoch = min(", "stop_after_epoch = len(overfit.val_loss) - 1 or min(",
                                       {"read_the_curve_tests"}),
    "curves: epoch counted from the list's index 0": (
        "read_the_curve", "stop_after_epoch = min(range(1, len(overfit.val_loss)), key=lambda epoch: overfit.val_loss[epoch])",
        "stop_after_epoch = overfit.val_loss.index(min(overfit.val_loss)) + 1", {"read_the_curve_tests"}),
    "curves: stopped on the training loss": (
        "read_the_curve", "stop_after_epoch = min(range(1, len(overfit.val_loss)), key=lambda epoch: overfit.val_loss[epoch])",
        "stop_after_epoch = 1 + min(range(len(overfit.train_epoch_loss)), key=lambda epoch: overfit.train_epoch_loss[epoch])",
        {"read_the_curve_tests"}),
    "curves: the wrong run stopped": ("read_the_curve", 'overfit = shown["C"]', 'overfit = shown["D"]', {"read_the_curve_tests"}),
    "memory: mixed precision with an fp32 master copy": ("training_gb", "(2 + 2 + 8)", "(2 + 2 + 12)", {"training_gb_tests"}),
    "memory: QLoRA at exactly half a byte": ("training_gb", "(4 + 8 / 64 + 32 / (64 * 256)) / 8", "4 / 8", {"training_gb_tests"}),
    "memory: QLoRA without double quantization": ("training_gb", "(4 + 8 / 64 + 32 / (64 * 256)) / 8", "(4 + 32 / 64) / 8", {"training_gb_tests"}),
    "memory: QLoRA's other weights in bf16": ("training_gb", "n_other * 4 + adapters", "n_other * 2 + adapters", {"training_gb_tests"}),
    "memory: adapters without gradients or moments": ("training_gb", "n_adapter * (4 + 4 + 8)", "n_adapter * 4", {"training_gb_tests"}),
    "memory: adapters in bf16": ("training_gb", "n_adapter * (4 + 4 + 8)", "n_adapter * (2 + 2 + 8)", {"training_gb_tests"}),
    "memory: the frozen base keeps gradients": ("training_gb", "(n_linear + n_other) * 2 + adapters", "(n_linear + n_other) * 4 + adapters", {"training_gb_tests"}),
    "memory: GiB for GB": ("training_gb", "total / 1e9", "total / 2**30", {"training_gb_tests"}),
    "memory: unknown methods pass": ("training_gb", 'raise ValueError(f"unknown method {method!r}")', "total = 0", {"training_gb_tests"}),
    "lora: grouped-query attention ignored": ("lora_parameters", "kv = config.num_key_value_heads * (h // config.num_attention_heads)", "kv = h",
                                              {"lora_parameters_tests"}),
    "lora: the full matrix counted": ("lora_parameters", "r * sum(shapes[t])", "r * shapes[t][0] * shapes[t][1] // r", {"lora_parameters_tests"}),
    "lora: A only": ("lora_parameters", "r * sum(shapes[t])", "r * shapes[t][0]", {"lora_parameters_tests"}),
    "lora: a name listed twice counted twice": ("lora_parameters", "for t in set(targets))", "for t in targets)", {"lora_parameters_tests"}),
    "lora: one layer": ("lora_parameters", "config.num_hidden_layers * sum(", "sum(", {"lora_parameters_tests"}),
    "critique: tone taken for fine": ("critique", '["tone", "ok",', '["ok", "tone",', {"critique_tests"}),
    "critique: length and format swapped": ("critique", '"length", "fact", "format"]', '"format", "fact", "length"]', {"critique_tests"}),
    "critique: the fact and the length swapped": ("critique", '"length", "fact", "format"]', '"fact", "length", "format"]', {"critique_tests"}),
    "critique: the wrong bullet": ("critique", 'wrong_bullet = "Price"', 'wrong_bullet = "Verdict"', {"critique_tests"}),
    "evals: a judge for checkable summaries": ("eval_design", '"buyer-summaries": "rubric"', '"buyer-summaries": "judge"', {"eval_design_tests"}),
    "evals: a rubric for open replies": ("eval_design", '"support-replies": "judge"', '"support-replies": "rubric"', {"eval_design_tests"}),
    "evals: a judge for labels": ("eval_design", '"commit-router": "exact match"', '"commit-router": "judge"', {"eval_design_tests"}),
    "evals: rounded, not rounded up": ("eval_design", "return math.ceil(", "return round(", {"eval_design_tests"}),
    "evals: truncated": ("eval_design", "return math.ceil(", "return int(", {"eval_design_tests"}),
    "evals: margin not squared": ("eval_design", "/ margin ** 2", "/ margin", {"eval_design_tests"}),
    "evals: z of 2": ("eval_design", "1.96 ** 2", "2 ** 2", {"eval_design_tests"}),
    "evals: gate on training loss": ("eval_design", 'gate = ["task metric, fine-tuned vs base",',
                                     'gate = ["training loss below a threshold", "task metric, fine-tuned vs base",', {"eval_design_tests"}),
    "evals: no safety gate": ("eval_design", ', "safety refusals, fine-tuned vs base"]', "]", {"eval_design_tests"}),
    "explain: a list of keywords": ("explain", "### END SOLUTION", 'my_explanations["lora"] = "frozen low rank 1% zero adapter " * 8\n### END SOLUTION',
                                    {"explain_tests"}),
    "explain: over a minute": ("explain", "### END SOLUTION", 'my_explanations["qlora"] = 2 * my_explanations["qlora"]\n### END SOLUTION', {"explain_tests"}),
    "explain: a vague answer": (
        "explain", "### END SOLUTION",
        'my_explanations["distillation"] = ("Distillation is a technique that many companies use. It has become very popular recently, and "\n'
        '    "people like it a lot because it works well in practice and in many situations that engineers meet in their daily work, and in the papers they read.")\n'
        "### END SOLUTION", {"explain_tests"}),
    "explain: a topic missing": ("explain", "### END SOLUTION", 'my_explanations["evals"] = my_explanations.pop("evals-first")\n### END SOLUTION',
                                 {"explain_tests"}),
}


def _context(cells):
    """The imports; the model counts Exercise 3 reads; the curves Exercise 5 reads."""
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    return [code[0]] + [i for i in code if "counts = {}" in cells[i].source or "shown = {" in cells[i].source]


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "08-interview", MUTANTS, exercises=8, context=_context)
