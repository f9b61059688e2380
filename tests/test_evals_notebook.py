"""06-evals' hidden tests catch the plausible wrong answers, not only the blank ones.

Each mutant is a mistake a learner could make in one answer cell. The exercise
cells of the solution notebook run with that mistake in one kernel (after the
imports cell only: no model, no fine-tune), and the named test cells must then
lose their points, scored as nbgrader does.
"""
from mutants import mutant_tests

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    "eval-only copies counted as leaks": (
        "leak_check", "if any(m < n_train for m in cluster.members):", "if True:", {"leak_check_tests"}),
    "indices into the joined list": ("leak_check", "found.update(m - n_train", "found.update(m", {"leak_check_tests"}),
    "exact copies only": (
        "leak_check", "dedup.near_duplicates(texts, threshold)", "dedup.exact_duplicates(texts)", {"leak_check_tests"}),
    "threshold not passed on": (
        "leak_check", "dedup.near_duplicates(texts, threshold)", "dedup.near_duplicates(texts)", {"leak_check_tests"}),
    "training indices returned": (
        "leak_check", "found.update(m - n_train for m in cluster.members if m >= n_train)",
        "found.update(m for m in cluster.members if m < n_train)", {"leak_check_tests"}),
    "exact match keeps case": (
        "exact_match_macro_f1", "pred.strip().lower() == gold.strip().lower()", "pred.strip() == gold.strip()",
        {"exact_match_macro_f1_tests"}),
    "exact match keeps spaces": (
        "exact_match_macro_f1", "pred.strip().lower() == gold.strip().lower()", "pred.lower() == gold.lower()",
        {"exact_match_macro_f1_tests"}),
    "micro-F1 (accuracy) for macro": (
        "exact_match_macro_f1", "return sum(scores) / len(labels)",
        "return sum(p == g for p, g in zip(pred, gold)) / len(gold)", {"exact_match_macro_f1_tests"}),
    "weighted by class size": (
        "exact_match_macro_f1", "return sum(scores) / len(labels)",
        "return sum(s * sum(g == l for g in gold) for s, l in zip(scores, labels)) / len(gold)",
        {"exact_match_macro_f1_tests"}),
    "empty classes skipped": (
        "exact_match_macro_f1", "scores.append(2 * tp / (predicted + actual) if predicted + actual else 0.0)\n    return sum(scores) / len(labels)",
        "if predicted + actual:\n            scores.append(2 * tp / (predicted + actual))\n    return sum(scores) / len(scores)",
        {"exact_match_macro_f1_tests"}),
    "F1 as the mean of precision and recall": (
        "exact_match_macro_f1", "scores.append(2 * tp / (predicted + actual) if predicted + actual else 0.0)",
        "scores.append((tp / predicted if predicted else 0.0) / 2 + (tp / actual if actual else 0.0) / 2)",
        {"exact_match_macro_f1_tests"}),
    "Wald interval": (
        "wilson_interval",
        "centre = (p + z * z / (2 * n)) / (1 + z * z / n)\n    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))",
        "centre = p\n    half = z * math.sqrt(p * (1 - p) / n)", {"wilson_interval_tests"}),
    "z ignored": ("wilson_interval", "p = successes / n\n", "p = successes / n\n    z = 1.96\n", {"wilson_interval_tests"}),
    "recall interval on the wrong n": (
        "wilson_interval", "n = sum(g == label for g in gold)", "n = len(gold)", {"wilson_interval_tests"}),
    "recall counts predictions, not hits": (
        "wilson_interval", "hits = sum(p == label and g == label for p, g in zip(pred, gold))",
        "hits = min(n, sum(p == label for p in pred))", {"wilson_interval_tests"}),
    "flood facts found as substrings": (
        "rubric_flood",
        "return bool(level and zone) and level.group(1) == parcel.flood_risk and zone.group(1) == parcel.flood_zone",
        "return parcel.flood_risk in value.lower() and f\"zone {parcel.flood_zone}\" in value", {"rubric_flood_tests"}),
    "zone compared by prefix": (
        "rubric_flood", "zone.group(1) == parcel.flood_zone", "zone.group(1).startswith(parcel.flood_zone)",
        {"rubric_flood_tests"}),
    "level anywhere in the value": (
        "rubric_flood", "level = re.match(", "level = re.search(", {"rubric_flood_tests"}),
    "level case-sensitive": ("rubric_flood", "value.strip().lower()", "value.strip()", {"rubric_flood_tests"}),
    "kappa without chance correction": (
        "cohen_kappa", "return (observed - chance) / (1 - chance)", "return observed", {"cohen_kappa_tests"}),
    "chance agreement assumed uniform": (
        "cohen_kappa", "chance = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)",
        "chance = 1 / len(set(a) | set(b))", {"cohen_kappa_tests"}),
    "chance from one rater only": (
        "cohen_kappa", "count_a[label] * count_b[label]", "count_a[label] * count_a[label]", {"cohen_kappa_tests"}),
    "no convention when chance is 1": ("cohen_kappa", "if chance == 1:\n        return 1.0\n", "", {"cohen_kappa_tests"}),
    "gate compares means without uncertainty": (
        "gate_check", "return bool(high <= tolerance)", "return bool(worse.mean() <= tolerance)", {"gate_check_tests"}),
    "gate compares the lower end": ("gate_check", "return bool(high <= tolerance)", "return bool(low <= tolerance)", {"gate_check_tests"}),
    "direction ignored": (
        "gate_check", "worse = base - tuned if higher_is_better else tuned - base", "worse = base - tuned", {"gate_check_tests"}),
    "models resampled apart (unpaired)": (
        "gate_check", "low, high = np.quantile(worse[draws].mean(axis=1), [0.025, 0.975])",
        "other = np.random.default_rng(seed + 1).integers(0, len(worse), size=(n_boot, len(worse)))\n"
        "    sign = 1 if higher_is_better else -1\n"
        "    low, high = np.quantile(sign * (base[draws].mean(axis=1) - tuned[other].mean(axis=1)), [0.025, 0.975])",
        {"gate_check_tests"}),
    "annotators not in sorted order": (  # deterministic: a set's own order changes with the hash seed
        "conflicting_labels", "sorted(who)", "sorted(who, reverse=True)", {"conflicting_labels_tests"}),
    "agreeing groups kept": ("conflicting_labels", " if len(labels) > 1", "", {"conflicting_labels_tests"}),
    "grouped by the whole message": (
        "conflicting_labels", "groups[key(e[\"message\"])]", "groups[e[\"message\"]]", {"conflicting_labels_tests"}),
}


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "06-evals", MUTANTS, exercises=7)
