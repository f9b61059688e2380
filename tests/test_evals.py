"""ftcourse.evals: metrics checked against hand-computed values, intervals against their formulas."""
import math

import numpy as np
import pytest
import torch

from ftcourse import evals
from ftcourse.world import landai
from ftcourse.world.parcels import Parcel

GOLD = ["a", "a", "a", "b"]
PRED = ["a", "a", "b", "b"]


def test_accuracy_and_macro_f1_by_hand():
    assert evals.accuracy(PRED, GOLD) == 0.75
    # a: precision 1, recall 2/3, F1 0.8; b: precision 1/2, recall 1, F1 2/3
    assert evals.macro_f1(PRED, GOLD) == pytest.approx((0.8 + 2 / 3) / 2)
    # a label that is asked for but never predicted nor present scores 0, and counts
    assert evals.macro_f1(PRED, GOLD, labels=["a", "b", "c"]) == pytest.approx((0.8 + 2 / 3) / 3)


def test_macro_f1_is_not_accuracy_when_a_class_is_never_predicted():
    gold = ["feat"] * 8 + ["fix"] * 2
    pred = ["feat"] * 10
    assert evals.accuracy(pred, gold) == 0.8
    assert evals.macro_f1(pred, gold) == pytest.approx((2 * 0.8 / 1.8) / 2)


def test_per_class_recall():
    assert evals.per_class_recall(PRED, GOLD) == {"a": pytest.approx(2 / 3), "b": 1.0}
    assert evals.per_class_recall(PRED, GOLD, labels=["b", "c"]) == {"b": 1.0, "c": 0.0}


def test_lengths_must_match():
    with pytest.raises(ValueError, match="pred has 2 items but gold has 4"):
        evals.accuracy(["a", "b"], GOLD)
    with pytest.raises(ValueError, match="no examples"):
        evals.macro_f1([], [])


def wilson_by_formula(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(8, 10), (0, 10), (10, 10), (37, 50), (1, 3)])
def test_wilson_interval_is_the_formula(k, n):
    low, high = evals.wilson_interval(k, n)
    assert (low, high) == pytest.approx(wilson_by_formula(k, n), abs=1e-9)
    assert 0 <= low <= k / n <= high <= 1


def test_wilson_interval_rejects_impossible_counts():
    for k, n in [(3, 0), (-1, 5), (6, 5)]:
        with pytest.raises(ValueError):
            evals.wilson_interval(k, n)


def test_wilson_narrows_with_n_and_widens_with_confidence():
    assert np.diff(evals.wilson_interval(40, 50)) > np.diff(evals.wilson_interval(400, 500))
    assert np.diff(evals.wilson_interval(40, 50, 0.99)) > np.diff(evals.wilson_interval(40, 50, 0.9))


def test_bootstrap_interval_is_seeded_and_covers_the_estimate():
    rng = np.random.default_rng(1)
    gold = list(rng.choice(["feat", "fix", "chore"], 120))
    pred = [g if rng.random() < 0.7 else "fix" for g in gold]
    a = evals.bootstrap_interval(evals.macro_f1, pred, gold, n_boot=300, seed=3)
    assert a == evals.bootstrap_interval(evals.macro_f1, pred, gold, n_boot=300, seed=3)
    assert a[0] < evals.macro_f1(pred, gold) < a[1]
    # for accuracy, the bootstrap and Wilson intervals agree to about a point
    boot = evals.bootstrap_interval(evals.accuracy, pred, gold, n_boot=2000, seed=0)
    wilson = evals.wilson_interval(sum(p == g for p, g in zip(pred, gold)), len(gold))
    assert boot == pytest.approx(wilson, abs=0.03)


def test_mcnemar_exact():
    a = [True] * 9 + [True] * 20 + [False] * 5
    b = [False] * 9 + [True] * 20 + [False] * 5
    assert evals.mcnemar(a, b) == pytest.approx(2 * 0.5 ** 9)
    assert evals.mcnemar(b, a) == evals.mcnemar(a, b)
    assert evals.mcnemar(a, a) == 1.0
    # 6 against 4 discordant: nowhere near significant
    assert evals.mcnemar([True] * 6 + [False] * 4, [False] * 6 + [True] * 4) == pytest.approx(0.7539, abs=1e-4)


def test_cohen_kappa_textbook_example():
    # 50 items: 20 both yes, 5 A yes B no, 10 A no B yes, 15 both no: p_o 0.7, p_e 0.5, kappa 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert evals.cohen_kappa(a, b) == pytest.approx(0.4)
    # high agreement by base rate alone is kappa 0
    assert evals.cohen_kappa(["pass"] * 9 + ["fail"], ["pass"] * 10) == pytest.approx(0.0)
    assert evals.cohen_kappa(["pass"] * 5, ["pass"] * 5) == 1.0


def test_eval_table_exports_csv_and_markdown():
    table = evals.EvalTable()
    table.add("few-shot", accuracy=0.5, ci=(0.4, 0.6))
    table.add("LoRA", accuracy=0.9)
    table.add("few-shot", note="k=4 | read by likelihood")
    assert table.columns == ["accuracy", "ci", "note"]
    assert table.to_csv() == ("system,accuracy,ci,note\nfew-shot,0.500,\"[0.400, 0.600]\",k=4 | read by likelihood\n"
                              "LoRA,0.900,,\n")
    md = table.to_markdown().splitlines()
    assert md[0] == "| system | accuracy | ci | note |"
    assert md[2] == "| few-shot | 0.500 | [0.400, 0.600] | k=4 \\| read by likelihood |"
    assert list(table.to_frame().index) == ["few-shot", "LoRA"]


def test_classification_row():
    row = evals.classification_row(PRED * 10, GOLD * 10, ["a", "b"], n_boot=200)
    assert row["accuracy"] == 0.75 and row["accuracy 95% CI"] == evals.wilson_interval(30, 40)
    assert row["recall b"] == 1.0 and row["macro-F1 95% CI"][0] < row["macro-F1"] < row["macro-F1 95% CI"][1]


def test_exact_match():
    assert evals.exact_match(" Fix\n", "fix") and not evals.exact_match("fix:", "fix")


PARCEL = Parcel(4412, "Alder", "R-2", "AE", 3.2, 4.0, "loam", "paved", ("water", "sewer"), 185_000, False, ())


def test_rubric_passes_the_target_and_fails_each_wrong_bullet_alone():
    target = landai.buyer_summary(PARCEL)
    assert evals.rubric_pass(target, PARCEL)
    wrong = {
        "Zoning": ("R-2 (two", "R-1 (single"),
        "Flood risk": ("(zone AE)", "(zone A)"),
        "Size and terrain": ("3.20 acres", "3.02 acres"),
        "Access and utilities": ("water, sewer", "water"),
        "Price": ("$185,000", "$158,000"),
        "Verdict": ("not recommended for building: high flood risk", "suitable for residential development"),
    }
    for label, (old, new) in wrong.items():
        assert old in target, old
        checks = evals.rubric(target.replace(old, new), PARCEL)
        assert [k for k, ok in checks.items() if not ok] == [label]


def test_rubric_reads_facts_not_layout():
    target = landai.buyer_summary(PARCEL)
    loose = target.replace("- ", "* ").replace("paved road", "Paved road") + "\n\nHope this helps!"
    assert evals.rubric_pass(loose, PARCEL)
    assert evals.rubric(target.replace("- Price", "- Cost"), PARCEL)["Price"] is False
    very_high = Parcel(**{**PARCEL.__dict__, "flood_zone": "VE"})
    assert not evals.rubric(landai.buyer_summary(very_high).replace("very high (", "high ("), very_high)["Flood risk"]


def test_gate_fails_a_drop_whose_interval_exceeds_the_tolerance():
    base = [1.0] * 40
    steady = evals.gate_check("refusals", base, [1.0] * 39 + [0.0], tolerance=0.1)
    assert steady.passed and steady.regression[0] >= 0
    # the mean drop (0.05) is within the tolerance, but 40 items cannot rule out a drop of 0.1
    noisy = evals.gate_check("refusals", base, [1.0] * 38 + [0.0] * 2, tolerance=0.06)
    assert noisy.tuned == pytest.approx(0.95) and not noisy.passed and noisy.regression[1] > 0.06
    assert "FAIL" in str(noisy)


def test_gate_lower_is_better_and_improvements_pass():
    rng = np.random.default_rng(0)
    base = rng.normal(3.0, 0.3, 60)
    better = evals.gate_check("log-perplexity", base, base - 0.2, tolerance=0.0, higher_is_better=False)
    assert better.passed and better.regression == pytest.approx((-0.2, -0.2))
    worse = evals.gate_check("log-perplexity", base, base + 0.2 + rng.normal(0, 0.05, 60), tolerance=0.1,
                             higher_is_better=False)
    assert not worse.passed and worse.regression[0] > 0.1
    gate = evals.Gate([better, worse])
    assert not gate.passed and str(gate).startswith("gate: FAIL")
    with pytest.raises(ValueError, match="one score per item"):
        evals.gate_check("x", [1.0, 0.0], [1.0], tolerance=0.1)


@pytest.fixture(scope="module")
def model():
    from ftcourse.models import load

    return load(device="cpu")


def test_option_logprobs_match_one_sequence_at_a_time(model):
    net, tok = model
    prompts = [tok("commit: fix crash in parser\nlabel:")["input_ids"], tok("Hello")["input_ids"]]
    options = [tok(" fix", add_special_tokens=False)["input_ids"], tok(" chore update", add_special_tokens=False)["input_ids"]]
    got = evals.option_logprobs(net, prompts, options, batch_size=3)
    for i, p in enumerate(prompts):
        for j, o in enumerate(options):
            with torch.no_grad():
                logp = torch.log_softmax(net(torch.tensor([p + o])).logits[0].float(), -1)
            expected = sum(float(logp[len(p) - 1 + t, tok_id]) for t, tok_id in enumerate(o))
            assert got[i, j] == pytest.approx(expected, abs=1e-4)


def test_document_nll_ignores_padding(model):
    net, tok = model
    texts = ["Return the number of items in a container.", "A much longer docstring " * 8]
    together = evals.document_nll(net, tok, texts)
    alone = [evals.document_nll(net, tok, [t])[0] for t in texts]
    assert together == pytest.approx(alone, abs=1e-4)
    assert 0 < together[0] < math.log(len(tok))


def test_macro_f1_and_recall_agree_with_scikit_learn():
    from sklearn.metrics import f1_score, recall_score

    rng = np.random.default_rng(0)
    for n in (5, 40, 300):
        gold = list(rng.choice(["feat", "fix", "chore"], n))
        pred = list(rng.choice(["feat", "fix", "chore", "other"], n, p=[0.4, 0.3, 0.2, 0.1]))
        labels = ["feat", "fix", "chore"]
        assert evals.macro_f1(pred, gold, labels) == pytest.approx(
            f1_score(gold, pred, labels=labels, average="macro", zero_division=0))
        assert list(evals.per_class_recall(pred, gold, labels).values()) == pytest.approx(
            list(recall_score(gold, pred, labels=labels, average=None, zero_division=0)))


def test_next_token_logprobs_match_the_full_reading(model):
    net, tok = model
    prompts = [tok("commit: fix crash in parser\nlabel:")["input_ids"], tok("Hello")["input_ids"],
               tok("The flood risk is")["input_ids"]]
    tokens = [tok(" fix", add_special_tokens=False)["input_ids"][0], tok(" low", add_special_tokens=False)["input_ids"][0]]
    got = evals.next_token_logprobs(net, prompts, tokens, batch_size=2)
    full = evals.option_logprobs(net, prompts, [[t] for t in tokens])
    assert got.shape == (3, 2) and np.allclose(got, full, atol=1e-4)
