"""Drift: the world moves, the deployed fine-tune does not.

A fine-tune is a snapshot of the data it saw. When the product changes (a new
kind of request, a renamed label) it keeps answering the old way, and nothing
crashes: only the quality on fresh traffic falls. So a deployment watches a
metric over a rolling window of recent, labelled traffic (a spot-checked
sample is enough) and raises an alarm when it drops below a floor.

Re-tuning on the new data alone teaches the new behaviour and erodes the old
(forgetting); mixing in a replay share of the old training data keeps both.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rolling_accuracy(correct: Sequence[bool], window: int) -> list[float | None]:
    """Accuracy over the last ``window`` requests at each request; None until ``window`` requests have been seen."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    out: list[float | None] = []
    right = 0
    for i, ok in enumerate(correct):
        right += bool(ok) - (bool(correct[i - window]) if i >= window else 0)
        out.append(right / window if i >= window - 1 else None)
    return out


def first_alarm(correct: Sequence[bool], window: int, floor: float) -> int | None:
    """Index of the first request at which the rolling accuracy is below ``floor``; None if it never is."""
    return next((i for i, a in enumerate(rolling_accuracy(correct, window)) if a is not None and a < floor), None)


def replay_mix(new: Sequence[T], old: Sequence[T], replay_share: float, seed: int = 0) -> list[T]:
    """All of ``new`` plus enough of ``old`` (drawn without replacement) to make ``replay_share`` of the mix, shuffled."""
    if not 0 <= replay_share < 1:
        raise ValueError(f"replay_share is a fraction in [0, 1), got {replay_share}")
    n_old = round(len(new) * replay_share / (1 - replay_share))
    if n_old > len(old):
        raise ValueError(f"a replay share of {replay_share} needs {n_old} old examples, only {len(old)} given")
    rng = random.Random(seed)
    mix = list(new) + rng.sample(list(old), n_old)
    rng.shuffle(mix)
    return mix
