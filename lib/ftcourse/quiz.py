"""Ungraded multiple-choice checks that answer back, one per notebook.

Each question shows its options as radio buttons; "Check" reveals whether the
choice is right and why. Outside a widget front end, the questions print as text.
"""
from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
from IPython.display import display


@dataclass(frozen=True)
class Question:
    prompt: str
    options: tuple[str, ...]
    answer: int  # index into options
    why: str

    def __post_init__(self) -> None:
        if not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer index {self.answer} is outside the {len(self.options)} options of {self.prompt!r}")

    def verdict(self, choice: int | None) -> str:
        if choice is None:
            return "Pick an option first."
        return ("Right. " if choice == self.answer else "Not quite. ") + self.why


def _question_widget(q: Question) -> widgets.Widget:
    choices = widgets.RadioButtons(options=[(o, i) for i, o in enumerate(q.options)], value=None, layout={"width": "max-content"})
    feedback = widgets.HTML()
    button = widgets.Button(description="Check", button_style="info")

    def on_click(_):
        feedback.value = f"<p>{q.verdict(choices.value)}</p>"

    button.on_click(on_click)
    return widgets.VBox([widgets.HTML(f"<b>{q.prompt}</b>"), choices, button, feedback])


def show(questions: list[Question]) -> None:
    """Display the quiz: widgets in JupyterLab, the questions as text where widgets cannot render."""
    bundle = widgets.VBox([_question_widget(q) for q in questions])._repr_mimebundle_()
    bundle["text/plain"] = as_text(questions, answers=False)
    display(bundle, raw=True)


def as_text(questions: list[Question], answers: bool = True) -> str:
    """The quiz as text; with ``answers``, the right option is starred and explained."""
    parts = []
    for n, q in enumerate(questions, 1):
        options = "\n".join(
            f"  {'*' if answers and i == q.answer else ' '} {chr(97 + i)}) {o}" for i, o in enumerate(q.options)
        )
        parts.append(f"{n}. {q.prompt}\n{options}" + (f"\n  -> {q.why}" if answers else ""))
    return "\n\n".join(parts)
