"""How many tokens a chat example takes, counted with the ``tokenizers`` library and jinja2 alone.

A Hugging Face tokenizer folder is a ``tokenizers`` tokenizer (``tokenizer.json``) plus a
chat template (jinja) and the special tokens it names. Counting an example's tokens needs
nothing more, so a length check of a data file (``ftcourse data validate``) starts in about
a second instead of first importing transformers and torch. ``tokens.count`` is the
definition through transformers; the tests hold the two equal.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .chat import AtLeast

COURSE_TOKENIZER_DIR = Path(__file__).resolve().parent / "assets" / "course-base"


class _Generation(Extension):
    """``{% generation %}`` marks the trained span of a template; for a count, its body is just text."""

    tags = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> list[jinja2.nodes.Node]:
        next(parser.stream)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


def _raise(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x: object, ensure_ascii: bool = False, indent: int | None = None, separators=None, sort_keys: bool = False) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class TokenLengths:
    """Total tokens of chat conversations, as the folder's chat template renders them; ``context`` from its config."""

    def __init__(self, folder: Path | str):
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        template = config.get("chat_template")
        if template is None and (folder / "chat_template.jinja").is_file():
            template = (folder / "chat_template.jinja").read_text(encoding="utf-8")
        if not isinstance(template, str):
            raise ValueError(f"{folder} has no single chat template to render")
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[_Generation, jinja2.ext.loopcontrols])
        env.filters["tojson"] = _tojson
        env.globals["raise_exception"] = _raise
        try:
            self._template = env.from_string(template)
        except jinja2.TemplateError as exc:
            raise ValueError(f"{folder}'s chat template does not compile: {exc}") from exc
        self._special = {k: v if isinstance(v, str) else v.get("content") for k, v in config.items()
                         if k.endswith("_token") and isinstance(v, (str, dict))}
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        n = config.get("model_max_length")
        self.context = int(n) if isinstance(n, int) and 0 < n < 10**7 else None
        self.widest = max(map(len, self._tokenizer.get_vocab()), default=1) or 1

    def __call__(self, batch: list[list[dict]]) -> list[int]:
        texts = [self._template.render(messages=messages, add_generation_prompt=False, **self._special) for messages in batch]
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]


def bounded(count_totals: Callable[[list[list[dict]]], list[int]], widest: int, limit: int | None) -> Callable[[list[list[dict]]], list[int]]:
    """``count_totals``, except that a conversation whose text alone needs more than ``limit`` tokens is not tokenized.

    No token covers more than ``widest`` characters, so such a text's count is at least its
    length over ``widest``: that lower bound (an ``AtLeast``) is returned instead. A 10 MB
    line then costs a length check, not a minute of tokenizing, and is still too long.
    """

    def count(batch: list[list[dict]]) -> list[int]:
        chars = [sum(len(m["content"]) for m in messages) for messages in batch]
        todo = [i for i, n in enumerate(chars) if limit is None or n <= limit * widest]
        totals = dict(zip(todo, count_totals([batch[i] for i in todo])))
        return [totals[i] if i in totals else AtLeast(math.ceil(n / widest)) for i, n in enumerate(chars)]

    return count
