"""01-decide's hidden tests catch the plausible wrong answers, not only the blank ones.

Each mutant below is a mistake a learner could make in one answer cell. The
exercise cells of the solution notebook run with that mistake in one kernel
(after the imports cell only: no model, no training), and the named test cells
must then lose their points, scored as nbgrader does.
"""
from mutants import mutant_tests

_LAST = 'found = re.findall(rf"(?<![A-Za-z0-9-])({codes})(?![A-Za-z0-9-])", reply)\n    return found[-1] if found else None'
_BY_LIST = ('found = [c for c in ZONING if re.search(rf"(?<![A-Za-z0-9-]){re.escape(c)}(?![A-Za-z0-9-])", reply)]\n'
            '    return found[0] if found else None')
_FIRST = 'match = re.search(rf"(?<![A-Za-z0-9-])({codes})(?![A-Za-z0-9-])", reply)\n    return match.group(1) if match else None'

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    "fine-tune for static knowledge": ("litmus", "if need.missing_knowledge:", "if need.missing_knowledge and need.knowledge_changes:", {"litmus_tests"}),
    "fine-tune before trying prompts": ("litmus", 'behaviour = (PROMPT, "nobody', 'behaviour = (FINE_TUNE, "nobody', {"litmus_tests"}),
    "volume skips the prompt": ("litmus", "if need.fails_with_examples is None:", "if need.fails_with_examples is None and not need.high_volume:", {"litmus_tests"}),
    "RAG for a strict format": ("litmus", "return RAG_AND_FINE_TUNE,", "return RAG,", {"litmus_tests"}),
    "volume ignored": ("litmus", "elif need.high_volume:", "elif False:", {"litmus_tests"}),
    "any behaviour gap beside knowledge is trained": ("litmus", "if behaviour and behaviour[0] == FINE_TUNE:", "if need.wrong_behaviour:", {"litmus_tests"}),
    "a reason of two lines": ("litmus", '"retrieve the facts, and "', '"retrieve the facts,\\nand "', {"litmus_tests"}),
    "wiki: knowledge said not to change": ("decision_reps", '"a": Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True)',
                                           '"a": Need(missing_knowledge=True, wrong_behaviour=False)', {"decision_reps_tests"}),
    "library: knowledge said not to change": ("decision_reps", '"c": Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True)',
                                              '"c": Need(missing_knowledge=True, wrong_behaviour=False)', {"decision_reps_tests"}),
    "schema: examples not tried": ("decision_reps", "fails_with_examples=True)", "fails_with_examples=None)", {"decision_reps_tests"}),
    "voice: volume missed": ("decision_reps", "fails_with_examples=False, high_volume=True)", "fails_with_examples=False)", {"decision_reps_tests"}),
    "voice: examples said to fail": ("decision_reps", "fails_with_examples=False, high_volume=True)", "fails_with_examples=True, high_volume=True)", {"decision_reps_tests"}),
    "zero-score hits kept": ("build_prompt", "if hit.score > 0:", "if True:", {"build_prompt_tests"}),
    "zero-score hits kept (>=)": ("build_prompt", "if hit.score > 0:", "if hit.score >= 0:", {"build_prompt_tests"}),
    "question not stripped": ("build_prompt", "[question.strip()]", "[question]", {"build_prompt_tests"}),
    "record not stripped": ("build_prompt", "hit.text.strip()", "hit.text", {"build_prompt_tests"}),
    "no heading": ("build_prompt", '"Record:\\n" + hit.text.strip()', "hit.text.strip()", {"build_prompt_tests"}),
    "no blank line": ("build_prompt", 'return "\\n\\n".join(parts)', 'return "\\n".join(parts)', {"build_prompt_tests"}),
    "codes as substrings": ("scoring", 'rf"(?<![A-Za-z0-9-])({codes})(?![A-Za-z0-9-])"', 'rf"({codes})"', {"scoring_tests"}),
    "codes in any case": ("scoring", "reply)\n    return match", "reply, flags=re.IGNORECASE)\n    return match", {"scoring_tests"}),
    "first in ZONING, not in the reply": ("scoring", _FIRST, _BY_LIST, {"scoring_tests"}),
    "last code named": ("scoring", _FIRST, _LAST, {"scoring_tests"}),
    "unanswered replies skipped": ("scoring", "/ len(replies)", "/ max(1, sum(zoning_in(r) is not None for r in replies))", {"scoring_tests"}),
    "lengths not checked": ("scoring", "if len(replies) != len(truths) or not replies:", "if not replies:", {"scoring_tests"}),
    "empty lists score 0": ("scoring", "if len(replies) != len(truths) or not replies:", "if len(replies) != len(truths):", {"scoring_tests"}),
    "epochs forgotten": ("finetune_cost", "float(tokens * epochs)", "float(tokens)", {"finetune_cost_tests"}),
    "forward pass only (2ND)": ("finetune_cost", "6.0 * params", "2.0 * params", {"finetune_cost_tests"}),
    "utilization ignored": ("finetune_cost", "(gpu_flops * utilization)", "gpu_flops", {"finetune_cost_tests"}),
    "utilization inverted": ("finetune_cost", "(gpu_flops * utilization)", "(gpu_flops / utilization)", {"finetune_cost_tests"}),
    "minutes, not hours": ("finetune_cost", "/ 3600", "/ 60", {"finetune_cost_tests"}),
    "API priced per token": ("finetune_cost", "trained / 1e6 * api_price_per_million", "trained * api_price_per_million", {"finetune_cost_tests"}),
    "API priced on one epoch": ("finetune_cost", "trained / 1e6 * api_price_per_million", "tokens / 1e6 * api_price_per_million", {"finetune_cost_tests"}),
    "utilization not checked": ("finetune_cost", "if not 0 < utilization <= 1:", "if utilization < 0:", {"finetune_cost_tests"}),
    "trained tokens an int": ("finetune_cost", "float(tokens * epochs)", "tokens * epochs", {"finetune_cost_tests"}),
}


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "01-decide", MUTANTS, exercises=5)
