"""Duplicates in training data: exact ones after normalising, near ones by MinHash and LSH.

A duplicated example is trained on once per copy, so it weighs more than the rest; a
near-copy of a test example in the training split is a leak that flatters every eval.
Exact duplicates are the same text after normalising Unicode, case and whitespace.
Near-duplicates are texts whose sets of word shingles (runs of ``n`` words) overlap by
a Jaccard similarity of at least ``threshold``. Comparing every pair costs n² work;
instead each text gets a MinHash signature (the chance that two signatures agree in a
position equals their Jaccard similarity), and locality-sensitive hashing puts texts
whose signatures agree on a whole band of positions into the same bucket, so only
texts that share a bucket are ever compared.
"""
from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


def normalize(text: str) -> str:
    """Text as a duplicate check sees it: NFKC Unicode, case-folded, whitespace runs collapsed to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def conversation_text(example: dict) -> str:
    """The text that makes two examples the same: every turn, with its role."""
    return "\n".join(f"{m.get('role')}: {m.get('content')}" for m in example["messages"])


def prompt_text(example: dict) -> str:
    """What the examples ask: the user turns only."""
    return "\n".join(str(m.get("content")) for m in example["messages"] if m.get("role") == "user")


@dataclass(frozen=True)
class Cluster:
    """Examples that are copies of each other; ``kept`` is the first of them, the rest are dropped."""

    kept: int
    dropped: tuple[int, ...]
    kind: str  # "exact" when every member normalises to the same text, else "near"

    @property
    def members(self) -> tuple[int, ...]:
        return (self.kept, *self.dropped)


class UnionFind:
    """Union-find: which items are joined, through any chain of pairs."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return list(out.values())


def _clusters(keys: list[str], pairs: np.ndarray) -> list[Cluster]:
    comps = UnionFind(len(keys))
    for i, j in pairs.tolist():
        comps.join(i, j)
    found = []
    for members in comps.groups():
        if len(members) > 1:
            kind = "exact" if len({keys[m] for m in members}) == 1 else "near"
            found.append(Cluster(members[0], tuple(members[1:]), kind))
    return sorted(found, key=lambda c: c.kept)


def exact_duplicates(texts: Sequence[str]) -> list[Cluster]:
    """Clusters of texts that are equal after ``normalize``."""
    keys = [normalize(t) for t in texts]
    first: dict[str, int] = {}
    pairs = []
    for i, k in enumerate(keys):
        j = first.setdefault(k, i)
        if j != i:
            pairs.append((j, i))
    return _clusters(keys, np.array(pairs, dtype=np.int64).reshape(-1, 2))


class MinHasher:
    """MinHash signatures of word shingles, seeded so the same texts always get the same signatures."""

    def __init__(self, num_perm: int = 128, shingle: int = 3, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.num_perm, self.shingle = num_perm, shingle
        # Multiply-shift hashing: (a*x + b) mod 2^64, top 32 bits; one (a, b) per permutation.
        self.a = rng.integers(1, 2**63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, 2**63, num_perm, dtype=np.uint64)
        self._words: dict[str, int] = {}

    def _word(self, w: str) -> int:
        h = self._words.get(w)
        if h is None:
            h = self._words[w] = int.from_bytes(hashlib.blake2b(w.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        return h

    def shingles(self, text: str) -> np.ndarray:
        """Hashes of the distinct runs of ``shingle`` words in the normalised text."""
        words = normalize(text).split() or [""]
        h = np.array([self._word(w) for w in words], dtype=np.uint64)
        n = min(self.shingle, len(h))
        with np.errstate(over="ignore"):
            grams = h[: len(h) - n + 1].copy()
            for k in range(1, n):
                grams = grams * np.uint64(0x9E3779B97F4A7C15) + h[k: len(h) - n + 1 + k]
        return np.unique(grams)

    def signatures(self, texts: Sequence[str], chunk: int = 1 << 16) -> np.ndarray:
        """One row of ``num_perm`` minimum hashes per text."""
        sig = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        shingles = [self.shingles(t) for t in texts]
        start = 0
        while start < len(texts):
            stop, size = start, 0
            while stop < len(texts) and (size == 0 or size + len(shingles[stop]) <= chunk):
                size += len(shingles[stop])
                stop += 1
            block = np.concatenate(shingles[start:stop])
            with np.errstate(over="ignore"):
                hashed = ((block[:, None] * self.a + self.b) >> np.uint64(32)).astype(np.uint32)
            offsets = np.cumsum([0] + [len(s) for s in shingles[start:stop - 1]])
            sig[start:stop] = np.minimum.reduceat(hashed, offsets, axis=0)
            start = stop
        return sig


def rows_per_band(num_perm: int, threshold: float) -> int:
    """Rows per LSH band: the split whose S-curve midpoint, (1/bands)^(1/rows), lies closest below ``threshold``."""
    options = [r for r in range(1, num_perm + 1) if num_perm % r == 0]
    below = [r for r in options if (r / num_perm) ** (1 / r) <= threshold]
    return max(below, key=lambda r: (r / num_perm) ** (1 / r)) if below else 1


def candidate_pairs(sig: np.ndarray, threshold: float) -> np.ndarray:
    """Pairs (i, j), i < j, that share an LSH bucket: the only pairs ever compared.

    In a bucket every member is paired with every other one; a bucket of hundreds of
    identical signatures (mass duplicates) is linked as a chain instead, which joins the
    same cluster without the quadratic cost.
    """
    n, num_perm = sig.shape
    rows = rows_per_band(num_perm, threshold)
    found = []
    for start in range(0, num_perm, rows):
        band = np.ascontiguousarray(sig[:, start:start + rows]).view(np.dtype((np.void, rows * 4))).ravel()
        order = np.argsort(band, kind="stable")
        sorted_band = band[order]
        edges = np.concatenate([[0], np.flatnonzero(sorted_band[1:] != sorted_band[:-1]) + 1, [n]])
        for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist()):
            if hi - lo < 2:
                continue
            bucket = np.sort(order[lo:hi])
            if len(bucket) <= 64:
                i, j = np.triu_indices(len(bucket), 1)
                found.append(np.stack([bucket[i], bucket[j]], axis=1))
            else:
                found.append(np.stack([bucket[:-1], bucket[1:]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found), axis=0)


def similar_pairs(sig: np.ndarray, threshold: float) -> np.ndarray:
    """The candidate pairs whose signatures agree in at least ``threshold`` of their positions."""
    pairs = candidate_pairs(sig, threshold)
    agree = np.empty(len(pairs))
    for s in range(0, len(pairs), 1 << 15):  # in blocks, so a million candidates never need gigabytes
        p = pairs[s:s + (1 << 15)]
        agree[s:s + len(p)] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return pairs[agree >= threshold]


def near_duplicates(texts: Sequence[str], threshold: float = 0.8, *, num_perm: int = 128, shingle: int = 3, seed: int = 0) -> list[Cluster]:
    """Clusters of texts whose shingle sets have a Jaccard similarity of at least ``threshold`` (estimated), exact copies included."""
    keys = [normalize(t) for t in texts]
    pairs = similar_pairs(MinHasher(num_perm, shingle, seed).signatures(keys), threshold)
    return _clusters(keys, pairs)


@dataclass
class Deduped:
    kept: list[dict]
    clusters: list[Cluster]

    @property
    def dropped(self) -> list[int]:
        return sorted(i for c in self.clusters for i in c.dropped)


def dedup(examples: Sequence[dict], *, threshold: float | None = 0.8, key: Callable[[dict], str] = conversation_text) -> Deduped:
    """Keep the first of every cluster of copies; ``threshold=None`` removes exact duplicates only."""
    texts = [key(e) for e in examples]
    clusters = exact_duplicates(texts) if threshold is None else near_duplicates(texts, threshold)
    dropped = {i for c in clusters for i in c.dropped}
    return Deduped([e for i, e in enumerate(examples) if i not in dropped], clusters)
