"""Retrieval-augmented generation over the course world: find the record, put it in the prompt.

The model is not asked to remember a parcel; the app looks the parcel up and hands
its record over with the question, so an answer is only as stale as the store it
came from. Lookup is lexical: BM25 (``rank_bm25.BM25Okapi``) scores each record by
the query words it contains, weighting rare words (a parcel id) far above common
ones ("parcel", "zoned"). Production systems often add dense embeddings; for
records keyed by ids and codes, word matching is the strong baseline.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rank_bm25 import BM25Okapi

from .world.parcels import Parcel

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """What BM25 matches on: lower-cased runs of letters and digits ("parcel_id: 1234" -> parcel, id, 1234)."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Hit:
    key: object  # the document's key in the store (a parcel id for parcel stores)
    text: str
    score: float


class Retriever:
    """A BM25 index over keyed documents. ``update`` replaces or adds one and re-indexes, so the next search sees it."""

    def __init__(self, documents: Mapping[object, str]) -> None:
        if not documents:
            raise ValueError("a retriever needs at least one document to search")
        self._documents = dict(documents)
        self._index()

    def _index(self) -> None:
        self._keys = list(self._documents)
        self._bm25 = BM25Okapi([words(self._documents[k]) for k in self._keys])

    def __len__(self) -> int:
        return len(self._documents)

    def __getitem__(self, key: object) -> str:
        return self._documents[key]

    def search(self, query: str, k: int = 1) -> list[Hit]:
        """The ``k`` best-scoring documents, best first (ties keep the store's order)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        scores = self._bm25.get_scores(words(query))
        order = sorted(range(len(self._keys)), key=lambda i: -scores[i])[:k]
        return [Hit(self._keys[i], self._documents[self._keys[i]], float(scores[i])) for i in order]

    def update(self, key: object, text: str) -> None:
        """Store ``text`` under ``key`` (new or replacing) and rebuild the index: BM25's word weights depend on every document."""
        self._documents[key] = text
        self._index()


def parcel_store(parcels: Iterable[Parcel]) -> Retriever:
    """LandAI's listings database as a retriever: each parcel's record, keyed by its id."""
    return Retriever({p.parcel_id: p.record() for p in parcels})


def build_prompt(question: str, hits: list[Hit]) -> str:
    """The user turn a retrieval app sends: the question, then each retrieved record under a ``Record:`` heading.

    A hit that scored 0 shares no word with the question; it is left out rather than handed to the
    model as if it were evidence. With one record this is exactly ``landai.user_prompt``'s shape, the
    layout the course model read records in during pretraining.
    """
    parts = [question.strip()]
    parts += [f"Record:\n{hit.text.strip()}" for hit in hits if hit.score > 0]
    return "\n\n".join(parts)
