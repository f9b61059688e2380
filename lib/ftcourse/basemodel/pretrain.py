"""Pretraining the course's base model from nothing: corpus, tokenizer, a small Llama, the loop.

This is what ``ftcourse build-base-model`` runs. Every step is seeded, so the
same command on the same software gives the same model. The size was chosen by
measuring, on a 2-core laptop CPU, how many tokens per second a few candidate
Llama shapes train at: the largest that pretrains in well under 45 minutes and
still LoRA-fine-tunes on 200 chat examples for 3 epochs in under a minute.
"""
from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from ..models import no_progress_bars
from . import corpus as corpora
from .tokenizer import render_chat, train_tokenizer


@dataclass(frozen=True)
class Recipe:
    hidden_size: int = 256
    layers: int = 4
    heads: int = 8
    intermediate_size: int = 704
    vocab_size: int = 4096
    context: int = 512
    batch_size: int = 8  # sequences of `context` tokens per step
    lr: float = 2e-3
    min_lr: float = 2e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    corpus_scale: float = 1.0
    general_repeats: int = 3
    max_steps: int | None = None  # None: one pass over the corpus
    copy_warmup_steps: int = 600  # steps of copying random strings before any text (see copy_rows)
    copy_warmup_batch: int = 16
    copy_length: int = 128
    eval_every: int = 100
    eval_sequences: int = 24  # held-out sequences per kind for the loss curve
    seed: int = 0


SMOKE = Recipe(hidden_size=64, layers=2, heads=4, intermediate_size=128, vocab_size=600, context=128, batch_size=4,
               corpus_scale=0.01, general_repeats=1, max_steps=12, warmup_steps=4, eval_every=6, eval_sequences=2,
               copy_warmup_steps=4, copy_warmup_batch=2, copy_length=64)


@dataclass
class PretrainLog:
    recipe: Recipe
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_loss: dict[str, list[float]] = field(default_factory=lambda: {"general": [], "world": []})
    tokens: int = 0
    corpus_tokens: int = 0
    corpus_parts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    load_average: list[float] = field(default_factory=list)  # 1-minute load at each evaluation: was the CPU shared?
    copy_loss: list[float] = field(default_factory=list)  # on the second copies, one per warm-up step

    def to_dict(self) -> dict:
        return asdict(self)


def model_config(recipe: Recipe, tokenizer) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=recipe.hidden_size,
        intermediate_size=recipe.intermediate_size,
        num_hidden_layers=recipe.layers,
        num_attention_heads=recipe.heads,
        num_key_value_heads=recipe.heads,
        max_position_embeddings=recipe.context,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def token_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """Each document as begin ... end token ids (the tokenizer adds the begin token)."""
    eos = tokenizer.eos_token_id
    return [e.ids + [eos] for e in tokenizer.backend_tokenizer.encode_batch(texts)]


def blocks(docs: list[list[int]], length: int) -> torch.Tensor:
    """Documents packed end to end and cut into rows of ``length`` tokens (the ragged tail is dropped)."""
    flat = torch.tensor([t for d in docs for t in d])
    n = len(flat) // length
    return flat[: n * length].view(n, length)


def _lr(recipe: Recipe, step: int, total: int) -> float:
    if step < recipe.warmup_steps:
        return recipe.lr * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, total - recipe.warmup_steps)
    return recipe.min_lr + 0.5 * (recipe.lr - recipe.min_lr) * (1 + math.cos(math.pi * progress))


def document_positions(rows: torch.Tensor, bos_id: int) -> torch.Tensor:
    """Position ids that restart at every document's begin token.

    Given with no attention mask, they make transformers keep the documents packed
    into a row apart: each one attends only to itself, as a prompt does later,
    instead of also to the tail of whatever document came before it. A record
    read from a row of unrelated records is a harder lesson than the one needed.
    """
    index = torch.arange(rows.shape[1]).expand_as(rows)
    start = torch.where(rows == bos_id, index, torch.zeros_like(index)).cummax(dim=1).values
    return index - start


def copy_rows(n: int, length: int, tokenizer, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` rows of random strings of random length, each written twice; labels only on the second copy.

    The corpus alone never teaches this model to copy from its context (measured: a random string
    written twice stays at 0% next-token accuracy on its second copy through a whole pretraining run,
    and the model writes a record's numbers from its prior). A random string can be continued in no
    other way, and its random length leaves no fixed offset to copy from, so these rows build the
    heads that look back for the current token and copy what followed it (induction heads): about
    500 steps of 16 rows of 128 tokens, trained before any text.
    Returns ``(ids, labels)``, labels -100 where nothing is to be copied.
    """
    newline = tokenizer.convert_tokens_to_ids("Ċ")
    skip = {*tokenizer.all_special_ids, newline}
    words = [i for i in range(len(tokenizer)) if i not in skip]
    ids, labels = [], []
    for _ in range(n):
        row, target = [], []
        while True:
            text = rng.choices(words, k=rng.randint(6, max(6, length // 3)))
            if len(row) + 2 * len(text) + 2 > length:
                break
            row += [tokenizer.bos_token_id, *text, newline, *text]
            target += [-100] * (len(text) + 3) + text[1:]  # the copy's first token cannot be foreseen
        pad = length - len(row)
        ids.append(row + [tokenizer.pad_token_id] * pad)
        labels.append(target + [-100] * pad)
    return torch.tensor(ids), torch.tensor(labels)


def _loss(model, rows: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    positions = document_positions(rows, model.config.bos_token_id)
    return model(input_ids=rows, position_ids=positions, labels=rows if labels is None else labels, use_cache=False).loss


def _step(model, optimizer, loss: torch.Tensor) -> None:
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


@torch.no_grad()
def mean_loss(model, rows: torch.Tensor, batch_size: int = 8) -> float:
    """Mean next-token loss per predicted token over ``rows``, each document seeing only itself."""
    was_training = model.training
    model.eval()
    losses = [float(_loss(model, rows[i:i + batch_size])) * len(rows[i:i + batch_size])
              for i in range(0, len(rows), batch_size)]
    model.train(was_training)
    return sum(losses) / len(rows)


def pretrain(recipe: Recipe = Recipe(), *, progress: bool = True):
    """Build the corpus and tokenizer, then train; returns ``(model, tokenizer, corpus, log)``."""
    clock = time.perf_counter()
    corpus = corpora.build(render_chat, scale=recipe.corpus_scale, seed=recipe.seed, general_repeats=recipe.general_repeats)
    log = PretrainLog(recipe, corpus_parts=corpus.parts)
    unique = list(dict.fromkeys(corpus.train))  # repeats would only reweight the merges
    tokenizer = train_tokenizer(unique, recipe.vocab_size, recipe.context)
    train_rows = blocks(token_ids(tokenizer, corpus.train), recipe.context)
    heldout_rows = {k: blocks(token_ids(tokenizer, v), recipe.context)[: recipe.eval_sequences] for k, v in corpus.heldout.items()}
    log.corpus_tokens = train_rows.numel()
    log.seconds["corpus and tokenizer"] = time.perf_counter() - clock

    torch.manual_seed(recipe.seed)
    model = LlamaForCausalLM(model_config(recipe, tokenizer))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=recipe.lr, betas=(0.9, 0.95))
    total = len(train_rows) // recipe.batch_size
    total = min(total, recipe.max_steps) if recipe.max_steps else total
    clock = time.perf_counter()
    model.train()
    rng = random.Random(f"copy:{recipe.seed}")
    for step in tqdm(range(recipe.copy_warmup_steps), desc="copy warm-up", unit="step", disable=not progress):
        for group in optimizer.param_groups:
            group["lr"] = recipe.lr * min(1.0, (step + 1) / recipe.warmup_steps)
        loss = _loss(model, *copy_rows(recipe.copy_warmup_batch, recipe.copy_length, tokenizer, rng))
        _step(model, optimizer, loss)
        log.copy_loss.append(loss.item())
    log.seconds["copy warm-up"] = time.perf_counter() - clock
    clock = time.perf_counter()
    bar = tqdm(range(total), desc="pretraining", unit="step", disable=not progress)
    for step in bar:
        if step % recipe.eval_every == 0:
            log.load_average.append(os.getloadavg()[0])
            log.eval_steps.append(step)
            for kind, rows in heldout_rows.items():
                log.eval_loss[kind].append(mean_loss(model, rows))
        for group in optimizer.param_groups:
            group["lr"] = _lr(recipe, step, total)
        batch = train_rows[step * recipe.batch_size:(step + 1) * recipe.batch_size]  # in corpus order: a curriculum
        loss = _loss(model, batch)
        _step(model, optimizer, loss)
        log.steps.append(step)
        log.train_loss.append(loss.item())
        log.tokens += batch.numel()
        bar.set_postfix(loss=f"{log.train_loss[-1]:.3f}")
    log.eval_steps.append(total)
    for kind, rows in heldout_rows.items():
        log.eval_loss[kind].append(mean_loss(model, rows))
    log.seconds["training"] = time.perf_counter() - clock
    model.eval()
    model.generation_config = GenerationConfig(
        do_sample=False, max_new_tokens=200, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    return model, tokenizer, corpus, log


def save(model, tokenizer, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with no_progress_bars():
        model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
