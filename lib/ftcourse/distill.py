"""Distillation: a big model writes the labels, a small one learns from them.

A narrow task rarely needs the big model that can do it: a student many
times smaller, trained on the teacher's answers to a pool of unlabelled
inputs, keeps most of the teacher's quality at a fraction of its cost per
request. Labels are cheap this way, but they are only as good as the teacher,
so its answers are checked before training and the invalid ones dropped: a
student trained on malformed labels learns to write them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from transformers import LlamaConfig, LlamaForCausalLM

T = TypeVar("T")


def student_set(inputs: Sequence[T], replies: Sequence[str], parse: Callable[[str], str | None],
                example: Callable[[T, str], dict]) -> list[dict]:
    """Training examples from the teacher's replies, in order; a reply ``parse`` rejects (None) is dropped."""
    if len(inputs) != len(replies):
        raise ValueError(f"{len(replies)} teacher replies for {len(inputs)} inputs: they must pair up one to one")
    return [example(x, label) for x, reply in zip(inputs, replies) if (label := parse(reply)) is not None]


def tiny_llama(tokenizer, *, layers: int = 2, hidden: int = 64, heads: int = 4, mlp: int = 128,
               context: int = 512, seed: int = 0) -> LlamaForCausalLM:
    """A freshly initialised Llama that reads the same tokens as ``tokenizer``'s model: a student to train.

    Same vocabulary and special tokens, so a teacher's conversations feed it as they are; tied embeddings,
    which at this size are most of its parameters.
    """
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=mlp, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=context,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval()
