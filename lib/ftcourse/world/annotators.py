"""Three people label the same kind of commits, and two of them follow a convention of their own.

The world knows every commit's true label, so it can play annotators whose
mistakes are systematic, as real ones are, and say exactly which labels are wrong:

- **Priya** follows the written guideline (``commits`` module docstring): her label is the true one.
- **Tomasz** labels by the first verb of the subject: "fix ..." is a fix, "add ..." a feat,
  "update ..." / "bump ..." a chore, whatever the change does. He agrees with the
  guideline on most commits and disagrees on exactly the ones worded against their label,
  and on tests, docs and build changes that start with "add" or "fix".
- **Grace** counts every dependency change (a bump, a pin, a lockfile) as a fix, because
  "we only bump to fix something".
"""
from __future__ import annotations

import random
import re

from .commits import Commit

ANNOTATORS = ("Priya", "Tomasz", "Grace")

_VERBS = {
    "fix": ("fix", "fixed", "handle", "handled", "correct", "corrected", "prevent", "prevented", "stop", "restore",
            "restored", "guard", "avoid", "close", "clamp", "escape", "return", "don't", "revert"),
    "feat": ("add", "added", "support", "supported", "allow", "allowed", "implement", "implemented", "expose",
             "exposed", "show", "showed", "introduce", "introduced", "new", "make", "made", "let", "enable", "emit",
             "emitted", "translate", "translated", "stream", "paginate", "cache", "cached", "read", "improve",
             "improved", "better", "change", "changed"),
}
_DEPENDENCY = re.compile(r"\b(bump|bumped|pin|upgrade|upgraded|lockfile|dependencies)\b|\bupdated? \S+ to v?\d", re.I)


def subject_words(message: str) -> list[str]:
    """The subject's words, lower case, after a ticket key, a ``type(scope):`` or ``scope:`` prefix.

    A merge commit's subject is the merged change's, on its third line.
    """
    lines = message.split("\n")
    subject = lines[2] if lines[0].startswith("Merge pull request") and len(lines) > 2 else lines[0]
    subject = re.sub(r"^[A-Z]+-\d+\s+", "", subject)
    subject = re.sub(r"^[\w-]+(\([\w-]+\))?:\s*", "", subject)
    return re.findall(r"[a-z0-9_'./-]+", subject.lower())


def by_first_verb(message: str, fallback: str) -> str:
    """Tomasz's rule: the label the subject's first word suggests, else ``fallback``."""
    words = subject_words(message)
    first = words[0] if words else ""
    for label, verbs in _VERBS.items():
        if first in verbs:
            return label
    return "chore" if first in ("update", "updated", "bump", "bumped", "refactor", "remove", "removed",
                                "rename", "move", "tidy", "run", "ran", "document") else fallback


def label(annotator: str, commit: Commit) -> str:
    """The label ``annotator`` gives ``commit``."""
    if annotator == "Priya":
        return commit.label
    if annotator == "Tomasz":
        return by_first_verb(commit.message, commit.label)
    if annotator == "Grace":
        return "fix" if _DEPENDENCY.search(commit.subject) or "dependency-name" in commit.message else commit.label
    raise ValueError(f"unknown annotator {annotator!r}; the world has {', '.join(ANNOTATORS)}")


def annotate(commits: list[Commit], seed: int = 0) -> list[dict]:
    """Deal the commits to the three annotators in turn (seeded order) and record who gave which label.

    Each row: the commit's ``message``, the ``label`` it was given, its ``annotator``, and the
    ``true_label`` the guideline gives (what a re-annotation recovers).
    """
    order = list(range(len(commits)))
    random.Random(f"annotate:{seed}").shuffle(order)
    who = {i: ANNOTATORS[rank % len(ANNOTATORS)] for rank, i in enumerate(order)}
    return [{"message": c.message, "label": label(who[i], c), "annotator": who[i], "true_label": c.label}
            for i, c in enumerate(commits)]
