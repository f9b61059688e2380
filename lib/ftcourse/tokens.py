"""Token budgets: what each example costs, and how much of it the model actually learns from.

A trainer sees an example as the tokenizer's chat template renders it: role markers,
special tokens and all. Only the assistant spans (the ``{% generation %}`` blocks of
the template) are trained; the rest is context the model reads but is not graded on.
Providers bill every token of the file once per epoch, so the two numbers differ.

``count`` renders and tokenizes whole batches at once with the fast (Rust) tokenizer and
finds the assistant spans from two character positions each, instead of walking every
token in Python as ``apply_chat_template(..., return_assistant_tokens_mask=True)`` does;
``reference_count`` is that slow, obviously right path, and the tests hold the two equal.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from transformers.utils.chat_template_utils import render_jinja_template

from .lengths import bounded

_GENERATION = re.compile(r"\{%-?\s*generation\s*-?%\}")


@dataclass(frozen=True)
class TokenCount:
    total: int  # every token the template produces for the example
    trained: int | None  # tokens inside assistant spans with weight 1; None if the template marks no spans


def _template(tokenizer) -> str:
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise ValueError(f"{type(tokenizer).__name__} has no chat template, so chat examples cannot be rendered into tokens.")
    return template


def _trained_spans(messages: list[dict], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of assistant turns that are trained: a ``weight`` of 0 drops a turn, as in OpenAI's format."""
    weights = [m.get("weight", 1) for m in messages if m.get("role") == "assistant"]
    if len(weights) != len(spans):  # a template that marks spans some other way: keep them all
        return spans
    return [s for s, w in zip(spans, weights) if w != 0]


def reference_count(tokenizer, messages: list[dict]) -> TokenCount:
    """One example through ``apply_chat_template`` and its assistant-token mask: slow, and the definition."""
    template = _template(tokenizer)
    if not _GENERATION.search(template):
        return TokenCount(len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]), None)
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    mask = list(out["assistant_masks"])
    _, spans = render_jinja_template(conversations=[messages], chat_template=template, return_assistant_tokens_mask=True, **tokenizer.special_tokens_map)
    for start, end in (s for s in spans[0] if s not in _trained_spans(messages, spans[0])):
        for t, (a, b) in enumerate(out.encodings[0].offsets):
            if a < end and b > start:
                mask[t] = 0
    return TokenCount(len(out["input_ids"]), sum(mask))


def count(tokenizer, conversations: list[list[dict]]) -> list[TokenCount]:
    """Token counts for a batch of conversations, as ``reference_count`` gives them, many times faster."""
    if not conversations:
        return []
    template = _template(tokenizer)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow (Python) tokenizer: no batch path, take the definition
        return [reference_count(tokenizer, m) for m in conversations]
    marked = bool(_GENERATION.search(template))
    rendered, spans = render_jinja_template(conversations=conversations, chat_template=template, return_assistant_tokens_mask=marked, **tokenizer.special_tokens_map)
    encodings = backend.encode_batch(rendered, add_special_tokens=False)
    counts = []
    for messages, enc, gen in zip(conversations, encodings, spans if marked else [None] * len(rendered)):
        trained = None
        if gen is not None:
            trained = 0
            for start, end in _trained_spans(messages, gen):
                first, last = _token_at(enc, start, end, 1), _token_at(enc, end - 1, start - 1, -1)
                if first is not None and last is not None and last >= first:
                    trained += last - first + 1
        counts.append(TokenCount(len(enc), trained))
    return counts


def _token_at(enc, char: int, stop: int, step: int) -> int | None:
    """The token holding ``char``, or the nearest one towards ``stop`` when the character maps to none."""
    for c in range(char, stop, step):
        t = enc.char_to_token(c)
        if t is not None:
            return t
    return None


def load_tokenizer(name: str | Path = "course-base"):
    """A tokenizer by name, loaded once per process: ``"course-base"`` is the course model's, else a folder or hub id."""
    return _load_tokenizer(str(name))


@functools.lru_cache(maxsize=4)
def _load_tokenizer(name: str):
    from transformers import AutoTokenizer

    from .models import COURSE_MODEL, COURSE_MODEL_DIR

    return AutoTokenizer.from_pretrained(COURSE_MODEL_DIR if name == COURSE_MODEL else name)


def longest_token(tokenizer) -> int:
    """Characters in the longest vocabulary entry: no token covers more characters of text than this."""
    vocab = tokenizer.get_vocab()
    return max(map(len, vocab), default=1) or 1


def counter(tokenizer, limit: int | None = None) -> Callable[[list[list[dict]]], list[int]]:
    """A total-token counter for ``chat.validate_file(count_tokens=...)``; over ``limit``, see ``lengths.bounded``."""
    return bounded(lambda batch: [c.total for c in count(tokenizer, batch)], longest_token(tokenizer), limit)


def context_length(tokenizer, default: int = 2048) -> int:
    """The longest sequence the tokenizer's model takes (``model_max_length``), if it states a real one."""
    n = getattr(tokenizer, "model_max_length", None)
    return int(n) if isinstance(n, int) and 0 < n < 10**7 else default


@dataclass
class Budget:
    """Token counts of a data set and what training on it costs."""

    table: pd.DataFrame  # one row per example: total, trained, over_context
    context: int
    epochs: int
    price_per_million: float

    @property
    def billed_tokens(self) -> int:
        """Tokens a provider bills: every token of every example (cut at the context), once per epoch."""
        return int(self.table["total"].clip(upper=self.context).sum()) * self.epochs

    @property
    def cost(self) -> float:
        return self.billed_tokens / 1e6 * self.price_per_million

    @property
    def over_context(self) -> list[int]:
        return self.table.index[self.table["over_context"]].tolist()

    def summary(self) -> pd.Series:
        t = self.table
        trained = t["trained"].dropna()
        return pd.Series({
            "examples": len(t),
            "total tokens": int(t["total"].sum()),
            "trained tokens": int(trained.sum()) if len(trained) else None,
            "trained share": float(trained.sum() / t["total"].sum()) if len(trained) and t["total"].sum() else None,
            "median tokens": float(t["total"].median()) if len(t) else 0.0,
            "p95 tokens": float(t["total"].quantile(0.95)) if len(t) else 0.0,
            "max tokens": int(t["total"].max()) if len(t) else 0,
            f"over {self.context} tokens": len(self.over_context),
            "epochs": self.epochs,
            "billed tokens": self.billed_tokens,
            "cost": round(self.cost, 4),
        }, dtype=object)


def budget(tokenizer, examples: Iterable[dict], *, context: int | None = None, epochs: int = 3,
           price_per_million: float = 0.0, batch_size: int = 1024, progress: bool = False) -> Budget:
    """Count every example's tokens (total and trained) and price training on them."""
    from tqdm.auto import tqdm

    examples = list(examples)
    context = context or context_length(tokenizer)
    counts: list[TokenCount] = []
    for i in tqdm(range(0, len(examples), batch_size), desc="counting tokens", disable=not progress):
        counts += count(tokenizer, [e["messages"] for e in examples[i:i + batch_size]])
    total = np.array([c.total for c in counts], dtype=np.int64)
    table = pd.DataFrame({
        "total": total,
        "trained": pd.array([c.trained for c in counts], dtype="Int64"),
        "over_context": total > context,
    })
    return Budget(table, context, epochs, price_per_million)
