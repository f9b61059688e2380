"""Many fine-tunes on one base: adapters by name, one mixed batch, as if each ran alone.

A LoRA adapter never changes the base weights, so one copy of the base can
hold many adapters, and a batch can mix requests for different ones: every
row goes through the shared base layers together, and each row's low-rank
update is added with its own adapter (peft's per-row ``adapter_names``;
``"__base__"`` means no adapter). The alternatives pay elsewhere: swapping
the active adapter between requests gives up batching, and one merged model
per task keeps a whole copy of the base for each.

The cost of serving is measured, not estimated: ``measure`` repeats a call
and keeps every time, so a table can show the spread next to the median.
"""
from __future__ import annotations

import copy
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from torch import nn

BASE = "__base__"  # peft's adapter name for a row answered by the base model alone


def load_adapters(base: nn.Module, adapters: Mapping[str, str | os.PathLike]):
    """A ``PeftModel`` holding every peft adapter folder of ``adapters`` (name -> folder) on one ``base``, in eval mode."""
    from peft import PeftModel

    if not adapters:
        raise ValueError("give at least one adapter: {name: peft adapter folder}")
    if BASE in adapters:
        raise ValueError(f"{BASE!r} is peft's name for 'no adapter'; give the adapter another name")
    (first, path), *rest = adapters.items()
    model = PeftModel.from_pretrained(base, Path(path), adapter_name=first)
    for name, path in rest:
        model.load_adapter(Path(path), adapter_name=name)
    return model.eval()


def route(requests: Sequence[Mapping], adapters: Mapping[str, str]) -> list[str]:
    """The adapter each request is answered with, in request order: ``adapters[request["task"]]``, else the base."""
    return [adapters.get(r["task"], BASE) for r in requests]


def generate_mixed(model, tokenizer, conversations: Sequence, adapter_names: Sequence[str], *,
                   max_new_tokens: int, batch_size: int = 32) -> list[str]:
    """Greedy replies, each conversation with its own adapter, in batches that mix adapters."""
    from .train import generate_many

    return generate_many(model, tokenizer, list(conversations), max_new_tokens, batch_size, list(adapter_names))


def generate_grouped(model, tokenizer, conversations: Sequence, adapter_names: Sequence[str], *,
                     max_new_tokens: int, batch_size: int = 32) -> list[str]:
    """The same replies computed the classic way: one adapter active at a time, over only its own requests."""
    from .train import generate_many

    replies: list[str | None] = [None] * len(conversations)
    for name in dict.fromkeys(adapter_names):
        rows = [i for i, a in enumerate(adapter_names) if a == name]
        batch = [conversations[i] for i in rows]
        if name == BASE:
            with model.disable_adapter():
                out = generate_many(model, tokenizer, batch, max_new_tokens, batch_size)
        else:
            model.set_adapter(name)
            out = generate_many(model, tokenizer, batch, max_new_tokens, batch_size)
        for i, reply in zip(rows, out):
            replies[i] = reply
    return replies


def generate_swapping(model, tokenizer, conversations: Sequence, adapter_names: Sequence[str], *,
                      max_new_tokens: int) -> list[str]:
    """One request at a time, switching the active adapter to the one it asks for: no batching at all."""
    return [generate_grouped(model, tokenizer, [c], [a], max_new_tokens=max_new_tokens)[0]
            for c, a in zip(conversations, adapter_names)]


def merged_models(model, names: Sequence[str]) -> dict[str, nn.Module]:
    """For each adapter, a separate copy of the base with that adapter merged in: one model per task."""
    merged = {}
    for name in names:
        one = copy.deepcopy(model)
        one.set_adapter(name)
        merged[name] = one.merge_and_unload(adapter_names=[name]).eval()
    return merged


def parameter_bytes(*models: nn.Module) -> int:
    """Bytes of all parameters and buffers of ``models``, a tensor shared between them counted once."""
    seen: dict[int, int] = {}
    for m in models:
        for t in (*m.parameters(), *m.buffers()):
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


def measure(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn``, after ``warmup`` untimed ones (caches, allocator)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def cost_per_million(batch_seconds: Sequence[float], batch_size: int, price_per_hour: float) -> float:
    """Dollars for a million requests, from repeated timings of one batch of ``batch_size`` on a machine at ``price_per_hour``.

    The median timing prices it: one run slowed by a neighbour on the machine must not move the price.
    """
    if not batch_seconds or batch_size < 1:
        raise ValueError("need at least one timing and a batch of at least one request")
    return float(statistics.median(batch_seconds) / batch_size * 1_000_000 / 3600 * price_per_hour)
