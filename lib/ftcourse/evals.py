"""Evals: how good a model is, how sure we are, and whether a change is real.

A score on an eval set is an estimate from a sample: 50 examples give an
accuracy that a new draw of 50 would move by several points. So every metric
here comes with its uncertainty (a Wilson interval for a proportion, a paired
bootstrap for anything else), two systems are compared on the same examples
with a paired test (McNemar), and a regression gate passes a model only when
the whole interval of a regression stays inside its tolerance.

SciPy and scikit-learn compute the intervals, tests and kappa; this module fixes the
conventions (macro means every class counts equally; a label no system
predicts scores zero, not an error) and puts results in a table.
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from .world.landai import verdict
from .world.parcels import Parcel


def _labels(pred: Sequence, gold: Sequence, labels: Sequence | None) -> list:
    if len(pred) != len(gold):
        raise ValueError(f"pred has {len(pred)} items but gold has {len(gold)}: score the same examples")
    if not len(gold):
        raise ValueError("no examples to score")
    return list(labels) if labels is not None else sorted(set(gold) | set(pred), key=str)


def accuracy(pred: Sequence, gold: Sequence) -> float:
    """Share of examples whose prediction equals the gold label exactly."""
    _labels(pred, gold, ())
    return sum(p == g for p, g in zip(pred, gold)) / len(gold)


def _counts(pred: Sequence, gold: Sequence, labels: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, predicted and gold counts per label (in the order of ``labels``)."""
    p, g = np.asarray(pred, dtype=object), np.asarray(gold, dtype=object)
    tp = np.array([np.sum((p == c) & (g == c)) for c in labels], dtype=float)
    return tp, np.array([np.sum(p == c) for c in labels], dtype=float), np.array([np.sum(g == c) for c in labels], dtype=float)


def macro_f1(pred: Sequence, gold: Sequence, labels: Sequence | None = None) -> float:
    """F1 per class, then the plain mean: a rare class counts as much as a common one.

    Micro-averaged F1 on single-label data is just accuracy, and hides a class the
    model never gets right; macro does not. A class nobody predicts has F1 0.
    (scikit-learn's ``f1_score(average="macro", zero_division=0)``, counted in numpy
    because bootstrap intervals call it thousands of times.)
    """
    tp, predicted, actual = _counts(pred, gold, _labels(pred, gold, labels))
    f1 = np.divide(2 * tp, predicted + actual, out=np.zeros_like(tp), where=predicted + actual > 0)
    return float(f1.mean())


def per_class_recall(pred: Sequence, gold: Sequence, labels: Sequence | None = None) -> dict:
    """For each label, the share of its gold examples predicted as it (0.0 when it has none)."""
    labels = _labels(pred, gold, labels)
    tp, _, actual = _counts(pred, gold, labels)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    return {label: float(r) for label, r in zip(labels, recall)}


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval for a proportion ``successes / n`` (Wilson score interval).

    Unlike the textbook p +- z*sqrt(p(1-p)/n), it stays inside [0, 1] and does not
    shrink to a point at 0/n or n/n, where a small eval set says least.
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got successes={successes}, n={n}")
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def bootstrap_interval(metric: Callable[[Sequence, Sequence], float], pred: Sequence, gold: Sequence, *,
                       n_boot: int = 1000, seed: int = 0, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(pred, gold)``, resampling examples (pairs stay together).

    For metrics with no formula for their spread (macro-F1, a gap between two systems).
    """
    _labels(pred, gold, ())
    pred, gold = np.asarray(pred, dtype=object), np.asarray(gold, dtype=object)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(gold), size=(n_boot, len(gold)))
    values = np.array([metric(list(pred[i]), list(gold[i])) for i in draws])
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> float:
    """Two-sided exact McNemar p-value: do systems A and B differ on the same examples?

    Only the discordant examples count (A right and B wrong, or the reverse); under
    "no difference" each is a fair coin flip, so the p-value is a binomial test.
    """
    if len(a_correct) != len(b_correct):
        raise ValueError(f"A has {len(a_correct)} results but B has {len(b_correct)}: compare the same examples")
    only_a = sum(bool(a) and not bool(b) for a, b in zip(a_correct, b_correct))
    only_b = sum(bool(b) and not bool(a) for a, b in zip(a_correct, b_correct))
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Agreement between two raters beyond what their label frequencies give by chance.

    kappa = (p_observed - p_chance) / (1 - p_chance): 1 is perfect, 0 is chance. Two
    raters that both say "pass" 90% of the time agree 82% of the time by luck alone.
    When both always give the same single label, chance agreement is 1 and kappa is
    defined here as 1.0 (they agree) rather than left undefined.
    """
    if len(a) != len(b):
        raise ValueError(f"rater A gave {len(a)} labels but rater B gave {len(b)}")
    if not len(a):
        raise ValueError("no items rated")
    if len(set(a) | set(b)) == 1:
        return 1.0
    return float(cohen_kappa_score(list(a), list(b)))


# Scorers ------------------------------------------------------------------------------


def exact_match(pred: str, gold: str) -> bool:
    """The answer is the label: same text once surrounding whitespace and case are ignored."""
    return pred.strip().lower() == gold.strip().lower()


# The eval table -----------------------------------------------------------------------


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if math.isfinite(value) else ""
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, float) for v in value):
        return f"[{value[0]:.3f}, {value[1]:.3f}]"
    return "" if value is None else str(value)


@dataclass
class EvalTable:
    """One row per system, one column per measurement, in the order they were first given."""

    rows: dict[str, dict[str, object]] = field(default_factory=dict)

    def add(self, system: str, **values: object) -> None:
        """Add (or extend) the row of ``system``; keyword names become columns."""
        self.rows.setdefault(system, {}).update(values)

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(c for row in self.rows.values() for c in row))

    def to_frame(self):
        """A pandas DataFrame indexed by system, for plotting and sorting."""
        import pandas as pd

        return pd.DataFrame.from_dict(self.rows, orient="index")[self.columns]

    def _grid(self) -> tuple[list[str], list[list[str]]]:
        header = ["system", *self.columns]
        return header, [[name, *(_cell(row.get(c)) for c in self.columns)] for name, row in self.rows.items()]

    def to_csv(self) -> str:
        """CSV text: floats to 3 decimals, an interval as "[low, high]"."""
        header, body = self._grid()
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([header, *body])
        return out.getvalue()

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table of the same cells as ``to_csv``."""
        header, body = self._grid()
        def line(cells):
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
        return "\n".join([line(header), "|" + "---|" * len(header), *map(line, body)]) + "\n"


def classification_row(pred: Sequence, gold: Sequence, labels: Sequence, *, n_boot: int = 1000,
                       seed: int = 0) -> dict[str, object]:
    """The columns a classifier's row needs: accuracy and macro-F1 with 95% intervals, recall per class."""
    right = sum(p == g for p, g in zip(pred, gold))
    row: dict[str, object] = {
        "accuracy": right / len(gold),
        "accuracy 95% CI": wilson_interval(right, len(gold)),
        "macro-F1": macro_f1(pred, gold, labels),
        "macro-F1 95% CI": bootstrap_interval(lambda p, g: macro_f1(p, g, labels), pred, gold, n_boot=n_boot, seed=seed),
    }
    row |= {f"recall {label}": r for label, r in per_class_recall(pred, gold, labels).items()}
    return row


# A rubric for LandAI buyer summaries --------------------------------------------------
# One check per bullet, each a fact the record decides. Leaner than comparing the text to the
# target: a bullet passes when it states the right facts, whatever else it says.


def bullet(text: str, label: str) -> str | None:
    """The value of the bullet ``label`` ("- Price: ...") anywhere in ``text``; None when absent."""
    m = re.search(rf"^\s*[-*•]?\s*\**{re.escape(label)}\**:\s*(.*?)\s*$", text, re.M)
    return m.group(1) if m else None


def _number(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1).replace(",", "")) if m else None


def _flood(value: str, p: Parcel) -> bool:
    zone = re.search(r"\bzone\s+([A-Z0-9]+)\b", value)
    risk = re.match(r"(very high|high|moderate|low)\b", value.strip().lower())
    return bool(zone and risk) and zone.group(1) == p.flood_zone and risk.group(1) == p.flood_risk


def _size(value: str, p: Parcel) -> bool:
    acres, slope = _number(r"([\d.,]+)\s*acres?\b", value), _number(r"([\d.]+)\s*%\s*slope", value)
    return acres is not None and slope is not None and abs(acres - p.acreage) < 0.005 and slope == p.slope_pct


def _access(value: str, p: Parcel) -> bool:
    road, _, utilities = value.partition(";")
    said = {u.strip() for u in utilities.split(",") if u.strip()} - {"no utilities"}
    expected_road = "no road access" if p.road_access == "none" else f"{p.road_access} road"
    return road.strip().lower() == expected_road and said == set(p.utilities)


def _zoning(value: str, p: Parcel) -> bool:
    code = re.match(r"([A-Z]+(?:-\d)?)\b", value)
    return code is not None and code.group(1) == p.zoning


RUBRIC: dict[str, Callable[[str, Parcel], bool]] = {
    "Zoning": _zoning,
    "Flood risk": _flood,
    "Size and terrain": _size,
    "Access and utilities": _access,
    "Price": lambda v, p: _number(r"\$([\d,]+)", v) == p.price_usd,
    "Verdict": lambda v, p: v.rstrip(".").strip().lower() == verdict(p),
}


def rubric(text: str, parcel: Parcel) -> dict[str, bool]:
    """Each bullet of a buyer summary checked against the parcel's record (a missing bullet fails)."""
    found = {label: bullet(text, label) for label in RUBRIC}
    return {label: value is not None and check(value, parcel) for (label, check), value in zip(RUBRIC.items(), found.values())}


def rubric_pass(text: str, parcel: Parcel) -> bool:
    """The summary passes when every bullet's facts agree with the record."""
    return all(rubric(text, parcel).values())


# The regression gate ------------------------------------------------------------------


@dataclass
class GateCheck:
    """One behaviour, measured on the same items before and after a change."""

    name: str
    base: float  # mean score of the base model
    tuned: float  # mean score of the changed model
    regression: tuple[float, float]  # 95% interval of how much worse the changed model is (negative: better)
    tolerance: float  # the largest regression we accept
    passed: bool  # the whole interval lies within the tolerance

    def __str__(self) -> str:
        verdict_ = "PASS" if self.passed else "FAIL"
        low, high = self.regression
        return (f"{verdict_}  {self.name}: base {self.base:.3f}, tuned {self.tuned:.3f}; worse by "
                f"[{low:+.3f}, {high:+.3f}] (95% CI), tolerance {self.tolerance:.3f}")


def gate_check(name: str, base_scores: Sequence[float], tuned_scores: Sequence[float], *, tolerance: float,
               higher_is_better: bool = True, n_boot: int = 2000, seed: int = 0,
               confidence: float = 0.95) -> GateCheck:
    """Pass only if the whole interval of the regression stays within ``tolerance``.

    The scores are paired, one per item for each model (1/0 for "refused", a document's
    log-perplexity, ...), so the interval is a bootstrap of the mean paired difference.
    Comparing the two means alone would pass a model whose drop is within the tolerance
    only by luck of the sample.
    """
    base, tuned = np.asarray(base_scores, dtype=float), np.asarray(tuned_scores, dtype=float)
    if base.shape != tuned.shape or base.ndim != 1 or not len(base):
        raise ValueError(f"{name}: need one score per item for both models, got {base.shape} and {tuned.shape}")
    worse = (base - tuned) if higher_is_better else (tuned - base)
    draws = np.random.default_rng(seed).integers(0, len(worse), size=(n_boot, len(worse)))
    tail = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(worse[draws].mean(axis=1), [tail, 1 - tail]))
    return GateCheck(name, float(base.mean()), float(tuned.mean()), (low, high), tolerance, high <= tolerance)


@dataclass
class Gate:
    checks: list[GateCheck]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def __str__(self) -> str:
        return "\n".join([f"gate: {'PASS' if self.passed else 'FAIL'}", *(f"  {c}" for c in self.checks)])


# Reading a model ----------------------------------------------------------------------


def _by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of ``batch_size``, shortest first: each batch is padded only to its own longest."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


@torch.no_grad()
def next_token_logprobs(model, prompts: Sequence[Sequence[int]], tokens: Sequence[int],
                        batch_size: int = 32) -> np.ndarray:
    """log P(token | prompt) of each candidate next token, for every prompt (rows) and token (columns).

    The cheapest constrained reading of a classifier: when the labels start with
    different tokens, the likeliest first token is the answer, from one forward pass
    per prompt (left-padded, so every prompt ends at the last position). Prompts are
    batched in order of length, so that little of a batch is padding; the rows come
    back in the order given.
    """
    device = next(model.parameters()).device
    out = np.empty((len(prompts), len(tokens)), dtype=np.float32)
    for rows in _by_length([len(p) for p in prompts], batch_size):
        chunk = [list(prompts[i]) for i in rows]
        width = max(len(p) for p in chunk)
        ids = torch.tensor([[0] * (width - len(p)) + p for p in chunk], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=device)
        logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=1).logits[:, -1].float()
        out[rows] = torch.log_softmax(logits, dim=-1)[:, list(tokens)].cpu().numpy()
    return out


@torch.no_grad()
def option_logprobs(model, prompts: Sequence[Sequence[int]], options: Sequence[Sequence[int]],
                    batch_size: int = 32) -> np.ndarray:
    """log P(option | prompt) for every prompt (rows) and option (columns), options given as token ids.

    Constrained decoding for a classifier: the model can only answer with one of the
    options, and the answer is the likeliest. One forward pass per prompt and option.
    """
    device = next(model.parameters()).device
    pairs = [(list(p), list(o)) for p in prompts for o in options]
    out = np.empty(len(pairs))
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        width = max(len(p) + len(o) for p, o in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        mask = torch.zeros(len(chunk), width, dtype=torch.long)
        for row, (p, o) in enumerate(chunk):
            ids[row, :len(p) + len(o)] = torch.tensor(p + o)
            mask[row, :len(p) + len(o)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        logp = torch.log_softmax(logits, dim=-1).cpu()
        for row, (p, o) in enumerate(chunk):
            positions = torch.arange(len(p) - 1, len(p) + len(o) - 1)
            out[start + row] = float(logp[row, positions, torch.tensor(o)].sum())
    return out.reshape(len(prompts), len(options))


@torch.no_grad()
def document_nll(model, tokenizer, texts: Sequence[str], max_length: int = 256, batch_size: int = 16) -> np.ndarray:
    """Mean negative log-likelihood per token of each text (its log-perplexity), first ``max_length`` tokens.

    One number per document, so two models can be compared document by document
    (batched in order of length, returned in the order given).
    """
    device = next(model.parameters()).device
    encoded = [tokenizer(t, add_special_tokens=True)["input_ids"][:max_length] for t in texts]
    out = np.empty(len(encoded))
    for rows in _by_length([len(e) for e in encoded], batch_size):
        chunk = [encoded[i] for i in rows]
        width = max(len(e) for e in chunk)
        ids = torch.tensor([e + [tokenizer.pad_token_id] * (width - len(e)) for e in chunk])
        mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in chunk])
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float().cpu()
        nll = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
        keep = mask[:, 1:].float()
        out[rows] = ((nll * keep).sum(1) / keep.sum(1).clamp(min=1)).numpy()
    return out
