"""Interview drills: questions checked four ways, and spaced repetition of the ones you miss.

A question is answered in words and checked the way an interviewer would:

- ``exact``: one right answer, in any case, spacing or hyphenation ("fine-tune" is "Fine tune");
- ``choice``: which of prompting, retrieval (RAG) and fine-tuning, alone or combined;
- ``numeric``: a number within a relative tolerance ("about 112 GB" is fine for 112.4);
- ``rubric``: a free answer that must cover enough key points (``ftcourse.rubric``).

The bank itself is ``ftcourse.interview.questions()``; ``ftcourse drill`` and notebook 08
both draw from it. Progress is a small JSON file: each question sits in a Leitner box, and a
question in box *b* comes back ``INTERVALS[b - 1]`` sessions later. A miss puts it in box 1,
due at the next session; a right answer moves it up a box (to box 2 at least), so what you
know waits 2, 4, 8, then 16 sessions. The file is replaced in one step (written beside it,
then renamed), so an interrupted run leaves either the old progress or the new, never half.
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import rubric as rubric_
from .rubric import KeyPoint

KINDS = ("exact", "choice", "numeric", "rubric")
TOOLS = ("prompt", "rag", "fine-tune")  # the three answers of a decision rep, in this order when combined
INTERVALS = (1, 2, 4, 8, 16)  # sessions until a question in box 1, 2, ... comes back
FORMAT = "ftcourse-drill-progress"


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    kind: str
    prompt: str | Callable[[], str]  # callable: worded on first use (a memory question describes a model's shape)
    explanation: str
    answer: str | float | frozenset | Callable[[], float] | None = None  # numeric: a value, or how to compute it
    accept: tuple[str, ...] = ()  # exact: other answers that count
    tolerance: float = 0.0  # numeric: relative
    unit: str = ""
    rubric: tuple[KeyPoint, ...] = ()  # rubric: the key points; choice: those of a one-sentence defence
    need: int = 0  # rubric: key points needed to pass
    model_answer: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"question {self.id}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "rubric" and not 0 < self.need <= len(self.rubric):
            raise ValueError(f"question {self.id}: needs {self.need} of its {len(self.rubric)} key points")
        if self.kind == "choice" and not (isinstance(self.answer, frozenset) and self.answer and self.answer <= set(TOOLS)):
            raise ValueError(f"question {self.id}: a choice's answer is a non-empty set of {TOOLS}")

    def ask(self) -> str:
        """The question as it is put to the candidate."""
        return self.prompt() if callable(self.prompt) else self.prompt

    def expected(self) -> str | float | frozenset:
        """The right answer; a numeric one computed on first use (the memory questions build models on the meta device)."""
        if callable(self.answer):
            value = _computed.get(self.id)
            if value is None:
                value = _computed[self.id] = float(self.answer())
            return value
        return self.answer

    def expected_text(self) -> str:
        value = self.expected()
        if self.kind == "numeric":
            return f"{_plain(value)}{' ' + self.unit if self.unit else ''}"
        if self.kind == "choice":
            return choice_text(value)
        if self.kind == "rubric":
            return self.model_answer
        return str(value)


_computed: dict[str, float] = {}


def _plain(x: float) -> str:
    if x == int(x) and abs(x) >= 1:
        return f"{int(x):,}"
    return f"{x:,.{max(0, 3 - int(math.floor(math.log10(abs(x)))))}f}" if x else "0"


def choice_text(tools: Iterable[str]) -> str:
    return " + ".join({"rag": "RAG"}.get(t, t) for t in TOOLS if t in set(tools))


# ---------------------------------------------------------------- checking an answer

_TOOL_WORDS = {
    "prompt": ("prompt*", "few shot", "system prompt", "instruction*"),
    "rag": ("rag", "retriev*", "retrieval augmented"),
    "fine-tune": ("fine tun*", "finetun*", "ft", "lora"),
}
_TOOL_POINTS = {t: KeyPoint(t, phrasings) for t, phrasings in _TOOL_WORDS.items()}


def tools_named(text: str) -> frozenset:
    """Which of prompting, RAG and fine-tuning ``text`` names: ``"RAG + fine-tuning"`` gives ``{"rag", "fine-tune"}``."""
    return frozenset(t for t, p in _TOOL_POINTS.items() if p.covered_by(text))


_NUMBER = re.compile(r"(-?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?)\s*(thousand|million|billion|k|m|bn|b)?\b", re.IGNORECASE)
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9}


def read_number(text: str) -> float | None:
    """The first number in ``text``: ``"4,194,304"``, ``"about 13.5 GB"``, ``"4.2 million"``; ``None`` if there is none."""
    m = _NUMBER.search(text)
    if not m:
        return None
    try:
        value = float(m.group(1).replace(",", ""))
    except ValueError:
        return None
    return value * _SCALE.get((m.group(2) or "").lower(), 1.0)


@dataclass(frozen=True)
class Result:
    correct: bool
    expected: str
    detail: str = ""  # what was covered and missed, for a rubric; why a number was off


def check(question: Question, response: str) -> Result:
    """Check one answer; the result carries the expected answer to show after it."""
    expected = question.expected()
    shown = question.expected_text()
    if question.kind == "exact":
        said = " ".join(rubric_.words(response))
        ok = said in {" ".join(rubric_.words(a)) for a in (str(expected), *question.accept)}
        return Result(ok, shown)
    if question.kind == "choice":
        named = tools_named(response)
        return Result(named == expected, shown, "" if named == expected else f"you named: {choice_text(named) or 'none of the three'}")
    if question.kind == "numeric":
        value = read_number(response)
        if value is None:
            return Result(False, shown, "no number in the answer")
        ok = abs(value - expected) <= question.tolerance * abs(expected)
        return Result(ok, shown, "" if ok else f"{_plain(value)} is {100 * (value - expected) / expected:+.0f}% off (within "
                                                 f"{100 * question.tolerance:g}% counts)")
    scored = rubric_.score(response, question.rubric)
    return Result(len(scored.covered) >= question.need, shown, f"{scored} ({question.need} needed)")


def check_defence(question: Question, defence: str, need: int = 2, max_words: int = 40) -> Result:
    """A decision rep's one-sentence defence: at most ``max_words`` words, one sentence, ``need`` of its key points."""
    scored = rubric_.score(defence, question.rubric)
    problems = []
    if len(rubric_.words(defence)) > max_words:
        problems.append(f"{len(rubric_.words(defence))} words: say it in {max_words} or fewer")
    if len(re.findall(r"[.!?](?:\s|$)", defence.strip())) > 1:
        problems.append("more than one sentence")
    if len(scored.covered) < need:
        problems.append(f"names {len(scored.covered)} of the reasons an interviewer listens for; {need} needed")
    return Result(not problems, question.explanation, "; ".join(problems) + ("\n" if problems else "") + str(scored))


# ---------------------------------------------------------------- progress and spaced repetition


class ProgressError(ValueError):
    """The progress file exists but cannot be used; it is left as it is."""


@dataclass
class Card:
    box: int = 0  # 0: never asked
    due: int = 0  # the session it comes back in
    seen: int = 0
    right: int = 0


@dataclass
class Progress:
    path: Path | None
    session: int = 0
    cards: dict[str, Card] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> Progress:
        """The progress kept at ``path`` (none yet if the file does not exist; nothing kept if ``path`` is None)."""
        if path is None:
            return cls(None)
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ProgressError(_damaged(path, f"cannot be read ({exc})")) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProgressError(_damaged(path, f"is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProgressError(_damaged(path, f"is not a drill progress file (its field 'format' is not {FORMAT!r})"))
        session, cards = data.get("session"), data.get("cards")
        if type(session) is not int or session < 0:
            raise ProgressError(_damaged(path, f"field 'session' is {session!r}, not a whole number >= 0"))
        if not isinstance(cards, dict):
            raise ProgressError(_damaged(path, "field 'cards' is not an object"))
        loaded = {}
        for qid, card in cards.items():
            fields = Card.__dataclass_fields__
            if not isinstance(card, dict) or set(card) != set(fields) or any(type(v) is not int or v < 0 for v in card.values()):
                raise ProgressError(_damaged(path, f"card {qid!r} is {card!r}, not {{{', '.join(fields)}}} as whole numbers >= 0"))
            if card["box"] > len(INTERVALS):
                raise ProgressError(_damaged(path, f"card {qid!r} is in box {card['box']}; boxes go from 0 to {len(INTERVALS)}"))
            loaded[qid] = Card(**card)
        return cls(path, session, loaded)

    def start_session(self) -> None:
        self.session += 1

    def record(self, qid: str, correct: bool) -> None:
        """A miss puts the question in box 1, due next session; a right answer moves it up a box (box 2 at least), due later."""
        card = self.cards.setdefault(qid, Card())
        card.seen += 1
        card.right += correct
        card.box = min(max(card.box, 1) + 1, len(INTERVALS)) if correct else 1
        card.due = self.session + INTERVALS[card.box - 1]

    def is_due(self, qid: str) -> bool:
        card = self.cards.get(qid)
        return card is not None and card.box > 0 and card.due <= self.session

    def save(self) -> None:
        """Write the file in one step: to a temporary file beside it, flushed to disk, then renamed over it."""
        if self.path is None:
            return
        data = {"format": FORMAT, "session": self.session, "cards": {k: asdict(c) for k, c in sorted(self.cards.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _damaged(path: Path, what: str) -> str:
    return (f"{path} {what}. It was left as it is: move it aside (or delete it) to start afresh, "
            f"or run with --no-progress.")


def default_progress_path() -> Path:
    """Where ``ftcourse drill`` keeps progress: the user's data folder (``~/.local/share/ftcourse`` on Linux)."""
    from platformdirs import user_data_path

    return user_data_path("ftcourse", appauthor=False) / "drill-progress.json"


def select(questions: list[Question], progress: Progress, count: int | None = None, seed: int | None = None,
           topics: Iterable[str] | None = None) -> list[Question]:
    """Up to ``count`` questions in random order: those due first (missed ones before the rest), then new ones, then others.

    ``topics`` keeps only questions of those topics; ``seed`` makes the draw and the order repeatable.
    """
    rng = random.Random(seed)
    wanted = set(topics) if topics else None
    pool = [q for q in questions if wanted is None or q.topic in wanted]
    rng.shuffle(pool)

    def rank(q: Question) -> tuple:
        card = progress.cards.get(q.id)
        if progress.is_due(q.id):
            return (0, card.box, card.due)
        if card is None or card.box == 0:
            return (1, 0, 0)
        return (2, card.due, card.box)

    chosen = sorted(pool, key=rank)[: count if count is not None else len(pool)]  # sorted() is stable: ties stay shuffled
    rng.shuffle(chosen)
    return chosen


def topics(questions: list[Question]) -> dict[str, int]:
    """Each topic and how many questions it has, in the bank's order."""
    found: dict[str, int] = {}
    for q in questions:
        found[q.topic] = found.get(q.topic, 0) + 1
    return found


# ---------------------------------------------------------------- flashcards


def flashcards(questions: list[Question]) -> None:
    """Flip through ``questions``: the answer and why on demand, a tally of what you knew; text where widgets cannot render."""
    import ipywidgets as widgets
    from IPython.display import display

    state = {"i": 0, "knew": 0, "missed": []}
    title, body, back, tally = widgets.HTML(), widgets.HTML(), widgets.HTML(), widgets.HTML()
    flip = widgets.Button(description="Show answer", button_style="info")
    knew = widgets.Button(description="I knew it", button_style="success")
    missed = widgets.Button(description="I missed it", button_style="warning")

    def show() -> None:
        i = state["i"]
        if i >= len(questions):
            title.value = "<b>Done.</b>"
            body.value = f"You knew {state['knew']} of {len(questions)}."
            back.value = "Go over these again: " + ", ".join(state["missed"]) if state["missed"] else ""
            for b in (flip, knew, missed):
                b.disabled = True
            return
        q = questions[i]
        title.value = f"<b>Card {i + 1} of {len(questions)}</b> · {q.topic}"
        body.value = f"<p>{q.ask()}</p>"
        back.value = ""
        knew.disabled = missed.disabled = True
        flip.disabled = False

    def on_flip(_) -> None:
        q = questions[state["i"]]
        back.value = f"<p><b>{q.expected_text()}</b></p><p>{q.explanation}</p>"
        knew.disabled = missed.disabled = False
        flip.disabled = True

    def on_mark(was_known: bool) -> None:
        state["knew"] += was_known
        if not was_known:
            state["missed"].append(questions[state["i"]].id)
        state["i"] += 1
        tally.value = f"knew {state['knew']} of {state['i']}"
        show()

    flip.on_click(on_flip)
    knew.on_click(lambda _: on_mark(True))
    missed.on_click(lambda _: on_mark(False))
    show()
    box = widgets.VBox([title, body, flip, back, widgets.HBox([knew, missed]), tally])
    bundle = box._repr_mimebundle_()
    bundle["text/plain"] = "\n\n".join(f"{n}. [{q.topic}] {q.ask()}" for n, q in enumerate(questions, 1))
    display(bundle, raw=True)
