"""The reference fine-tuning loop: chat examples in, a model that answers like them out.

Fine-tuning is the pretraining loop run again from pretrained weights, on your
examples, with a small learning rate, and with the loss taken only on the
assistant's tokens: the prompt is context the model reads, never text it is
graded on. Notebook 03 builds each piece; later notebooks use this version.
It trains whatever parameters require grad, so the same loop does full
fine-tuning and LoRA.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

IGNORE = -100  # label value that cross-entropy skips
GENERAL_HELDOUT = Path(__file__).resolve().parent / "data" / "general_heldout.json"


def encode_chat(tokenizer, messages: list[dict], max_length: int | None = None,
                assistant_only: bool = True) -> dict[str, list[int]]:
    """Token ids of a conversation, with labels only where the assistant speaks.

    The chat template marks the assistant's reply (and its end token) with
    ``{% generation %}``; everything else gets the label -100.
    ``assistant_only=False`` labels every token instead: the mistake notebook 03 measures.
    """
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    if max_length is not None:
        ids, mask = ids[:max_length], mask[:max_length]
    labels = [t if m or not assistant_only else IGNORE for t, m in zip(ids, mask)]
    return {"input_ids": ids, "labels": labels, "assistant_mask": mask}


def _messages(example) -> list[dict]:
    return example["messages"] if isinstance(example, dict) else example


def collate(encoded: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding is masked out of attention and of the loss."""
    width = max(len(e["input_ids"]) for e in encoded)
    def pad(key, value):
        return torch.tensor([e[key] + [value] * (width - len(e[key])) for e in encoded])
    ids = pad("input_ids", pad_id)
    attention = torch.tensor([[1] * len(e["input_ids"]) + [0] * (width - len(e["input_ids"])) for e in encoded])
    return {"input_ids": ids, "attention_mask": attention, "labels": pad("labels", IGNORE)}


def token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the next-token predictions over the labelled tokens of a batch.

    Position t predicts token t + 1, so the last position's logits and the first
    label have no partner and drop out; tokens labelled -100 (the prompt, the
    padding) count neither in the sum nor in the mean. This is what
    ``model(input_ids, labels=labels).loss`` computes in transformers.
    """
    return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(),
                                             ignore_index=IGNORE)


def labelled_loss(model, batch: dict) -> torch.Tensor:
    """``token_loss`` of a causal LM on a batch, with the output layer run only where a label is.

    The loss reads no other logits, and in a chat fine-tune the labelled tokens are the few the
    assistant speaks: the output layer at every position (a product with the whole vocabulary,
    then its softmax) would be most of a small model's step, for nothing.
    """
    hidden = model.get_decoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    logits = model.get_output_embeddings()(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def lr_factor(step: int, total: int, warmup_steps: int) -> float:
    """The share of the peak learning rate that update number ``step`` (0-based) of ``total`` uses.

    A linear warm-up, (step + 1) / warmup_steps, so the first update is already a
    small one rather than none; then a cosine from 1 down to 0 at the last update.
    Fresh optimizer statistics are noisy, and a full-size first step from
    pretrained weights can undo what pretraining built: hence the warm-up.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps) / max(1, total - warmup_steps)))


def early_stopping(losses: list[float], patience: int, min_delta: float = 0.0) -> tuple[int, int | None]:
    """``(best, stop)``: which evaluation's weights to keep, and at which one training stops (None: never).

    ``losses[0]`` is the validation loss before training, ``losses[i]`` after the
    i-th evaluation. An evaluation improves when it beats the best so far by more
    than ``min_delta`` (a tie is no improvement, so the earlier weights are kept);
    training stops at the ``patience``-th evaluation in a row without one.
    """
    best, waited = 0, 0
    for i in range(1, len(losses)):
        if losses[i] < losses[best] - min_delta:
            best, waited = i, 0
        else:
            waited += 1
            if waited == patience:
                return best, i
    return best, None


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)  # one per optimizer step
    eval_loss: list[tuple[int, float]] = field(default_factory=list)  # (step, loss): before training, then each evaluation
    lr: list[float] = field(default_factory=list)  # the learning rate of each optimizer step
    best: int | None = None  # with patience: index into eval_loss of the weights kept
    stopped_early: bool = False
    seconds: float = 0.0
    tokens: int = 0  # tokens seen in training (padding excluded)


@torch.no_grad()
def evaluate_loss(model, batches: list[dict]) -> float:
    """Mean loss per labelled token over ``batches`` (every token counts the same, whichever batch it is in)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for batch in batches:
        n = int((batch["labels"][:, 1:] != IGNORE).sum())
        if n:
            total += float(labelled_loss(model, {k: v.to(device) for k, v in batch.items()})) * n
        count += n
    model.train(was_training)
    return total / max(count, 1)


def general_english() -> list[str]:
    """The course model's held-out general English: standard-library docstrings it never trained on.

    The same split as the model card's "general" perplexity, committed as text, so that
    a fine-tune can be checked for what it made the model forget.
    """
    return json.loads(GENERAL_HELDOUT.read_text(encoding="utf-8"))["texts"]


def perplexity(model, tokenizer, texts: list[str], max_length: int = 256, batch_size: int = 8) -> float:
    """exp(mean loss per token) of plain texts, each read from its begin token on its own and cut at ``max_length``."""
    rows = [ids[:max_length] for ids in tokenizer(texts)["input_ids"]]
    batches = [collate([{"input_ids": r, "labels": r} for r in rows[i:i + batch_size]], tokenizer.pad_token_id)
               for i in range(0, len(rows), batch_size)]
    return math.exp(evaluate_loss(model, batches))


def training_step(model, batch: dict, optimizer, schedule, max_norm: float = 1.0) -> float:
    """One update: clear the old gradients, forward, backward, clip, step, advance the schedule; the batch's loss.

    Clipping the gradient's total norm to ``max_norm`` keeps one odd batch from
    throwing pretrained weights far; the schedule moves after the step, so the
    next update uses the next learning rate.
    """
    device = next(model.parameters()).device
    optimizer.zero_grad(set_to_none=True)
    loss = labelled_loss(model, {k: v.to(device) for k, v in batch.items()})
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], max_norm)
    optimizer.step()
    schedule.step()
    return loss.item()


def _encoded(tokenizer, example, max_length: int | None, assistant_only: bool) -> dict:
    if isinstance(example, dict) and "input_ids" in example:  # encoded already (by encode_chat)
        return example if assistant_only else example | {"labels": list(example["input_ids"])}
    return encode_chat(tokenizer, _messages(example), max_length, assistant_only)


def finetune(model, tokenizer, train: list, *, eval: list | None = None, epochs: int = 3, lr: float = 1e-3,
             batch_size: int = 8, max_steps: int | None = None, seed: int = 0, progress: bool | str = True,
             max_length: int | None = None, warmup: float = 0.1, weight_decay: float = 0.0,
             assistant_only: bool = True, eval_every: int | None = None, patience: int | None = None,
             min_delta: float = 0.0) -> History:
    """Fine-tune in place on chat examples (``{"messages": [...]}``, message lists, or ``encode_chat`` outputs).

    AdamW on the parameters that require grad, linear warmup over the first
    ``warmup`` fraction of steps, then cosine decay to zero (``lr_factor``). ``lr``
    suits LoRA; full fine-tuning wants about ten times less.

    ``eval`` is measured before training and after every epoch, or every
    ``eval_every`` steps (and at the end). With ``patience``, training stops once
    that many evaluations in a row fail to beat the best by more than
    ``min_delta`` (``early_stopping``), and the trained weights of the best
    evaluation are put back. ``progress`` shows a bar, labelled with it when it is a string.
    """
    torch.manual_seed(seed)
    order = random.Random(seed)
    encoded = [_encoded(tokenizer, x, max_length, assistant_only) for x in train]
    eval_batches = [collate([_encoded(tokenizer, x, max_length, True) for x in eval[i:i + batch_size]],
                            tokenizer.pad_token_id) for i in range(0, len(eval), batch_size)] if eval else []
    if patience is not None and not eval_batches:
        raise ValueError("early stopping (patience) needs an eval set to watch")
    steps_per_epoch = math.ceil(len(encoded) / batch_size)
    total = min(epochs * steps_per_epoch, max_steps or epochs * steps_per_epoch)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    warm = max(1, int(warmup * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warm))
    history = History()
    best_weights = None

    def evaluate(step: int) -> bool:
        """Record the eval loss at ``step``; True when early stopping says stop."""
        nonlocal best_weights
        history.eval_loss.append((step, evaluate_loss(model, eval_batches)))
        if patience is None:
            return False
        best, stop = early_stopping([loss for _, loss in history.eval_loss], patience, min_delta)
        if best == len(history.eval_loss) - 1:
            best_weights = [p.detach().clone() for p in params]
        history.best = best
        return stop is not None

    if eval_batches:
        evaluate(0)
    start, step, stop = time.perf_counter(), 0, False
    model.train()
    bar = tqdm(total=total, desc=progress if isinstance(progress, str) else "fine-tuning", unit="step",
               disable=not progress)
    while step < total and not stop:
        indices = list(range(len(encoded)))
        order.shuffle(indices)
        for i in range(0, len(indices), batch_size):
            batch = collate([encoded[j] for j in indices[i:i + batch_size]], tokenizer.pad_token_id)
            history.lr.append(optimizer.param_groups[0]["lr"])
            history.train_loss.append(training_step(model, batch, optimizer, schedule))
            history.tokens += int(batch["attention_mask"].sum())
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}")
            if eval_batches and eval_every and (step % eval_every == 0 or step == total):
                stop = evaluate(step)
            if step == total or stop:
                break
        if eval_batches and not eval_every and not stop:
            stop = evaluate(step)
    bar.close()
    optimizer.zero_grad(set_to_none=True)
    if patience is not None:
        history.stopped_early = stop
        with torch.no_grad():  # the best may be the weights before training
            for p, kept in zip(params, best_weights):
                p.copy_(kept)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


def _prompt(messages: list[dict]) -> list[dict]:
    return messages[:-1] if messages and messages[-1]["role"] == "assistant" else messages


@torch.no_grad()
def generate_many(model, tokenizer, conversations: list[list[dict]], max_new_tokens: int = 200,
                  batch_size: int = 16, adapter_names: list[str] | None = None) -> list[str]:
    """Greedy replies to many conversations, a batch at a time (left-padded, so every prompt ends where its reply starts).

    ``adapter_names``: for a peft model holding several adapters, the one each conversation is answered with.
    """
    if adapter_names is not None and len(adapter_names) != len(conversations):
        raise ValueError(f"{len(adapter_names)} adapter names for {len(conversations)} conversations")
    device = next(model.parameters()).device
    prompts = [tokenizer.apply_chat_template(_prompt(_messages(c)), add_generation_prompt=True, tokenize=True,
                                             return_dict=True)["input_ids"] for c in conversations]
    replies = []
    for i in range(0, len(prompts), batch_size):
        chunk = prompts[i:i + batch_size]
        width = max(len(p) for p in chunk)
        ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(p)) + list(p) for p in chunk], device=device)
        attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=device)
        per_row = {} if adapter_names is None else {"adapter_names": adapter_names[i:i + batch_size]}
        out = model.generate(input_ids=ids, attention_mask=attention, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, **per_row)
        replies += [tokenizer.decode(row[width:], skip_special_tokens=True) for row in out]
    return replies


def generate(model, tokenizer, messages: list[dict], max_new_tokens: int = 200) -> str:
    """The model's reply to ``messages``, decoded greedily.

    A final assistant message (a reference answer) is left out of the prompt.
    """
    return generate_many(model, tokenizer, [messages], max_new_tokens)[0]
