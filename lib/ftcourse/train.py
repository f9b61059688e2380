"""The reference fine-tuning loop: chat examples in, a model that answers like them out.

Fine-tuning is the pretraining loop run again from pretrained weights, on your
examples, with a small learning rate, and with the loss taken only on the
assistant's tokens: the prompt is context the model reads, never text it is
graded on. Notebook 03 builds each piece; later notebooks use this version.
It trains whatever parameters require grad, so the same loop does full
fine-tuning and LoRA.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

IGNORE = -100  # label value that cross-entropy skips


def encode_chat(tokenizer, messages: list[dict], max_length: int | None = None) -> dict[str, list[int]]:
    """Token ids of a conversation, with labels only where the assistant speaks.

    The chat template marks the assistant's reply (and its end token) with
    ``{% generation %}``; everything else gets the label -100.
    """
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    if max_length is not None:
        ids, mask = ids[:max_length], mask[:max_length]
    return {"input_ids": ids, "labels": [t if m else IGNORE for t, m in zip(ids, mask)], "assistant_mask": mask}


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


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)  # one per optimizer step
    eval_loss: list[tuple[int, float]] = field(default_factory=list)  # (step, loss): before training and after each epoch
    seconds: float = 0.0
    tokens: int = 0  # tokens seen in training (padding excluded)


@torch.no_grad()
def evaluate_loss(model, batches: list[dict]) -> float:
    """Mean loss per assistant token over ``batches``."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for batch in batches:
        n = int((batch["labels"][:, 1:] != IGNORE).sum())
        total += float(model(**{k: v.to(device) for k, v in batch.items()}).loss) * n
        count += n
    model.train(was_training)
    return total / max(count, 1)


def finetune(model, tokenizer, train: list, *, eval: list | None = None, epochs: int = 3, lr: float = 1e-3,
             batch_size: int = 8, max_steps: int | None = None, seed: int = 0, progress: bool = True,
             max_length: int | None = None, warmup: float = 0.1, weight_decay: float = 0.0) -> History:
    """Fine-tune in place on chat examples (``{"messages": [...]}`` or message lists).

    AdamW on the parameters that require grad, linear warmup over the first
    ``warmup`` fraction of steps, then cosine decay to zero. ``lr`` suits LoRA;
    full fine-tuning wants about ten times less.
    """
    torch.manual_seed(seed)
    order = random.Random(seed)
    device = next(model.parameters()).device
    encoded = [encode_chat(tokenizer, _messages(x), max_length) for x in train]
    eval_batches = [collate([encode_chat(tokenizer, _messages(x), max_length) for x in eval[i:i + batch_size]],
                            tokenizer.pad_token_id) for i in range(0, len(eval), batch_size)] if eval else []
    steps_per_epoch = math.ceil(len(encoded) / batch_size)
    total = min(epochs * steps_per_epoch, max_steps or epochs * steps_per_epoch)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    warm = max(1, int(warmup * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    history = History()
    if eval_batches:
        history.eval_loss.append((0, evaluate_loss(model, eval_batches)))
    start, step = time.perf_counter(), 0
    model.train()
    bar = tqdm(total=total, desc="fine-tuning", unit="step", disable=not progress)
    while step < total:
        indices = list(range(len(encoded)))
        order.shuffle(indices)
        for i in range(0, len(indices), batch_size):
            batch = collate([encoded[j] for j in indices[i:i + batch_size]], tokenizer.pad_token_id)
            loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            history.train_loss.append(loss.item())
            history.tokens += int(batch["attention_mask"].sum())
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}")
            if step == total:
                break
        if eval_batches:
            history.eval_loss.append((step, evaluate_loss(model, eval_batches)))
    bar.close()
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
