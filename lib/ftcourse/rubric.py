"""Score a free-text answer by the key points it covers.

An interviewer listening to "explain LoRA in 60 seconds" has a short list in mind:
frozen weights, a low-rank pair, a small share trained, a small file. A rubric is
that list. Each key point lists the phrasings that count for it; the answer covers
the point when it contains one of them as whole words, whatever the case, the
punctuation or the hyphenation ("low-rank" is "low rank"). A phrasing's word may end
in ``*`` to match any ending: ``freez*`` matches "freeze", "freezes", "freezing".

Coverage is not correctness: "LoRA does not freeze the weights" covers "freeze".
A rubric tells a candidate what they left out; the model answer and a person tell
them whether what they said was right.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9%.]+")


def words(text: str) -> list[str]:
    """The words of ``text`` in lower case, punctuation and hyphens dropped; ``4.5`` and ``16%`` stay whole."""
    return [w.strip(".") for w in _WORD.findall(text.casefold()) if w.strip(".")]


def _pattern(phrasing: str) -> re.Pattern:
    parts = []
    for w in phrasing.split():
        stem = w.endswith("*")
        found = words(w.rstrip("*"))  # "don't" is two words, as it is in an answer
        if not found:
            raise ValueError(f"rubric phrasing {phrasing!r}: {w!r} has no letters or digits")
        parts += [re.escape(x) for x in found]
        if stem:
            parts[-1] += r"\S*"
    if not parts:
        raise ValueError("a rubric phrasing cannot be empty")
    return re.compile(r"(?:^| )" + " ".join(parts) + r"(?= |$)")


@dataclass(frozen=True)
class KeyPoint:
    """One thing a good answer says, and the phrasings that count as saying it."""

    name: str
    phrasings: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.phrasings:
            raise ValueError(f"key point {self.name!r} has no phrasings")
        for p in self.phrasings:
            _pattern(p)

    def covered_by(self, answer: str) -> bool:
        text = " ".join(words(answer))
        return any(_pattern(p).search(text) for p in self.phrasings)


def point(name: str, *phrasings: str) -> KeyPoint:
    """``point("frozen base", "freez*", "frozen")``: a key point and the phrasings that cover it."""
    return KeyPoint(name, phrasings)


@dataclass(frozen=True)
class Score:
    covered: tuple[str, ...]
    missed: tuple[str, ...]

    @property
    def fraction(self) -> float:
        n = len(self.covered) + len(self.missed)
        return len(self.covered) / n if n else 0.0

    def __str__(self) -> str:
        lines = [f"covered {len(self.covered)} of {len(self.covered) + len(self.missed)} key points"]
        lines += [f"  + {name}" for name in self.covered] + [f"  - {name}" for name in self.missed]
        return "\n".join(lines)


def score(answer: str, rubric: tuple[KeyPoint, ...] | list[KeyPoint]) -> Score:
    """Which of the rubric's key points ``answer`` covers, in the rubric's order."""
    hits = [p.covered_by(answer) for p in rubric]
    return Score(tuple(p.name for p, h in zip(rubric, hits) if h), tuple(p.name for p, h in zip(rubric, hits) if not h))
