"""Train / validation / test splits that do not leak.

A random shuffle of examples is not enough: a near-copy of a test example in the
training split, or another conversation about the same parcel, lets the model pass
the test from memory. So examples are first joined into groups (near-duplicate
clusters, and examples about the same entity when an ``entity`` function names it),
and whole groups are dealt to the splits. ``leakage`` checks any two splits for
what this prevents.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from .dedup import Cluster, UnionFind, conversation_text, near_duplicates

Entity = Callable[[dict], Hashable | None]


@dataclass
class Splits:
    train: list[dict]
    validation: list[dict]
    test: list[dict]
    indices: dict[str, list[int]] = field(default_factory=dict)  # positions in the input, per split

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("train", "validation", "test")}


def groups(examples: Sequence[dict], *, entity: Entity | None = None, threshold: float = 0.8,
           key: Callable[[dict], str] = conversation_text) -> list[list[int]]:
    """Indices of examples that must stay together: near-duplicates, and examples about the same entity."""
    comps = UnionFind(len(examples))
    for c in near_duplicates([key(e) for e in examples], threshold):
        for i in c.dropped:
            comps.join(c.kept, i)
    if entity is not None:
        first: dict[Hashable, int] = {}
        for i, e in enumerate(examples):
            name = entity(e)
            if name is not None:
                comps.join(first.setdefault(name, i), i)
    return comps.groups()


def split(examples: Sequence[dict], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), *, seed: int = 0,
          entity: Entity | None = None, threshold: float = 0.8, key: Callable[[dict], str] = conversation_text) -> Splits:
    """Deal whole groups, in a seeded random order, to the split that is furthest below its share."""
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative shares that sum to 1, got {fractions}")
    parts = groups(examples, entity=entity, threshold=threshold, key=key)
    random.Random(seed).shuffle(parts)
    names = ("train", "validation", "test")
    chosen: dict[str, list[int]] = {n: [] for n in names}
    for part in parts:
        placed = sum(len(v) for v in chosen.values()) + len(part)
        name = max(names, key=lambda n: fractions[names.index(n)] * placed - len(chosen[n]))
        chosen[name] += part
    indices = {n: sorted(v) for n, v in chosen.items()}
    return Splits(*([examples[i] for i in indices[n]] for n in names), indices=indices)


@dataclass
class Leakage:
    """What two splits share: near-duplicate clusters that span both, and entities found in both."""

    clusters: list[Cluster]  # indices: a's examples first, then b's (offset by len(a))
    entities: list[Hashable]
    size_a: int

    @property
    def ok(self) -> bool:
        return not self.clusters and not self.entities

    def pairs(self) -> list[tuple[int, int]]:
        """(index in a, index in b) for every example pair that a leaking cluster joins."""
        out = []
        for c in self.clusters:
            left = [m for m in c.members if m < self.size_a]
            right = [m - self.size_a for m in c.members if m >= self.size_a]
            out += [(i, j) for i in left for j in right]
        return out

    def __str__(self) -> str:
        if self.ok:
            return "No leakage: no near-duplicates and no shared entities between the two splits."
        return (f"Leakage: {len(self.clusters)} near-duplicate clusters span both splits "
                f"({len(self.pairs())} example pairs); {len(self.entities)} entities appear in both.")


def leakage(a: Sequence[dict], b: Sequence[dict], *, entity: Entity | None = None, threshold: float = 0.8,
            key: Callable[[dict], str] = conversation_text) -> Leakage:
    """Check two splits for examples that are near-copies across them, or about the same entity."""
    clusters = [c for c in near_duplicates([key(e) for e in [*a, *b]], threshold)
                if min(c.members) < len(a) <= max(c.members)]
    shared: list[Hashable] = []
    if entity is not None:
        left = {entity(e) for e in a} - {None}
        shared = sorted((left & {entity(e) for e in b}), key=str)
    return Leakage(clusters, shared, len(a))
