"""What the base model can do, measured, and the model card that reports it.

Three claims, each measured the same way by the build and by
``benchmarks/base_model.py``:

- it has learned language: held-out perplexity on general English and on world
  prose, next to a unigram model's perplexity on the same tokens;
- it speaks the world's language: sample continuations of plain prompts;
- it does not know LandAI's house layout until fine-tuned: layout and fact rates
  on held-out parcels before and after a LoRA fine-tune on 200 conversations.
"""
from __future__ import annotations

import copy
import json
import math
import os
import platform
import sys
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..memory import LLAMA_PROJECTIONS
from ..train import finetune
from ..world import landai, parcels
from ..world.parcels import COURSE_IDS
from .corpus import HELD_OUT_PARCELS, Corpus
from .pretrain import PretrainLog, blocks, mean_loss, token_ids

SAMPLE_PROMPTS = [
    "Parcel 7203 covers",
    "The flood risk is",
    "Because the slope is",
    "Return the number of",
    "commit ",
    "Ticket T-",
]
TEMPLATES = Path(__file__).resolve().parents[1] / "assets" / "modelcard"
BRANCH_MINIMUM = 40  # fine-tuning parcels of each branch of the verdict rule (see gap_parcels)


def perplexities(model, tokenizer, corpus: Corpus, context: int, max_sequences: int = 64) -> dict[str, dict[str, float]]:
    """Per kind of held-out text: the model's perplexity and a unigram model's, on the same tokens.

    The unigram model is the token frequencies of the training text of the same
    kind, add-one smoothed: the best a model can do that ignores context.
    """
    out = {}
    for kind, texts in corpus.heldout.items():
        counts = torch.ones(len(tokenizer), dtype=torch.float64)
        for ids in token_ids(tokenizer, corpus.sources[kind]):
            counts += torch.bincount(torch.tensor(ids), minlength=len(tokenizer)).double()
        log_p = (counts / counts.sum()).log()
        rows = blocks(token_ids(tokenizer, texts), context)[:max_sequences]
        targets = rows[:, 1:]  # the tokens the model predicts
        unigram = float(-log_p[targets].mean())
        out[kind] = {"model": math.exp(mean_loss(model, rows)), "unigram": math.exp(unigram), "tokens": targets.numel()}
    return out


@torch.no_grad()
def samples(model, tokenizer, prompts: list[str] = SAMPLE_PROMPTS, max_new_tokens: int = 48) -> dict[str, str]:
    """Greedy continuations of plain-text prompts (no chat template)."""
    out = {}
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt")
        gen = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, repetition_penalty=1.2,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        out[prompt] = tokenizer.decode(gen[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    return out


@dataclass
class Gap:
    base_layout: float
    base_facts: float
    tuned_layout: float  # mean over the fine-tunes (one per seed)
    tuned_facts: float
    finetune_seconds: float  # of one fine-tune, on average
    train_examples: int
    eval_parcels: int
    epochs: int
    base_example: str
    tuned_example: str  # from the first seed's fine-tune
    batch_size: int
    tuned_by_fact: dict[str, tuple[int, int]]  # (right, asked) over all the fine-tunes: see landai.tally
    tuned_fields: dict[str, int]  # fine-tuned replies with each bullet exactly as the target, over all of them
    lr: float
    branch_minimum: int  # the fewest fine-tuning parcels any branch of the verdict rule has
    runs: list[tuple[int, float, float]]  # (seed, layout, facts) of each fine-tune


def gap_parcels(n_train: int = 200, n_eval: int = 50, at_least: int = BRANCH_MINIMUM) -> tuple[list, list]:
    """Fine-tuning parcels and held-out evaluation parcels that never overlap (course ids, never pretrained on).

    The held-out parcels are a plain random draw, so the rates measured on them are the world's. The
    fine-tuning draw holds ``at_least`` of each branch of the verdict rule (``landai.covering``; capped
    at an equal share for tiny sets): a plain draw of 200 teaches the steep and landlocked verdicts
    from 13 and 7 examples, and the fine-tuned model gets those branches wrong.
    """
    held_out = parcels(n_eval, seed=1001)
    pool = parcels(len(COURSE_IDS) - n_eval, seed=1002, exclude=[p.parcel_id for p in held_out])
    return landai.covering(pool, n_train, min(at_least, n_train // len(landai.BRANCHES))), held_out


def behaviour_gap(model, tokenizer, *, n_train: int = 200, n_eval: int = 50, epochs: int = 3, lr: float = 3e-3,
                  r: int = 16, batch_size: int = 2, seeds: tuple[int, ...] = (0, 1, 2), at_least: int = BRANCH_MINIMUM,
                  progress: bool = True) -> Gap:
    """LandAI layout and fact rates of ``model`` zero-shot, then after LoRA fine-tunes of copies (peft), one per seed.

    One fine-tune's rates move by several points with its seed alone (the rare verdict branches
    hang on a few updates), so the rates reported are the mean over ``seeds``, each run kept.
    Batches of 2 give 300 optimizer steps on 200 conversations.
    """
    from peft import LoraConfig, get_peft_model

    train_parcels, eval_parcels = gap_parcels(n_train, n_eval, at_least)
    before = landai.evaluate(model, tokenizer, eval_parcels)
    train = [landai.conversation(p) for p in train_parcels]
    runs, afters, seconds = [], [], []
    for seed in seeds:
        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            tuned = get_peft_model(copy.deepcopy(model), LoraConfig(r=r, lora_alpha=2 * r, target_modules=list(LLAMA_PROJECTIONS)))
        history = finetune(tuned, tokenizer, train, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                           progress=progress)
        after = landai.evaluate(tuned, tokenizer, eval_parcels)
        runs.append((seed, after.layout_rate, after.facts_rate))
        afters.append(after)
        seconds.append(history.seconds)
    by_fact, fields = landai.tally(eval_parcels * len(seeds), [c for after in afters for c in after.checks])
    return Gap(before.layout_rate, before.facts_rate, sum(run[1] for run in runs) / len(runs),
               sum(run[2] for run in runs) / len(runs), sum(seconds) / len(seconds), len(train_parcels),
               len(eval_parcels), epochs, before.replies[0], afters[0].replies[0], batch_size, by_fact, fields, lr,
               min(Counter(map(landai.branch, train_parcels))[b] for b in landai.BRANCHES), runs)


def machine() -> dict[str, str]:
    import transformers

    return {"python": sys.version.split()[0], "platform": platform.platform(terse=True), "cpu cores": str(os.cpu_count()),
            "torch threads": str(torch.get_num_threads()), "torch": torch.__version__, "transformers": transformers.__version__}


def plot_losses(log: PretrainLog, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    window = max(1, len(log.train_loss) // 50)
    smooth = [sum(log.train_loss[max(0, i - window + 1):i + 1]) / len(log.train_loss[max(0, i - window + 1):i + 1])
              for i in range(len(log.train_loss))]
    ax.plot(log.steps, smooth, label="training (running mean)", color="0.4")
    for kind, losses in log.eval_loss.items():
        ax.plot(log.eval_steps, losses, marker="o", markersize=3, label=f"held-out {kind}")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.set_title("Pretraining the course base model")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _template(name: str) -> str:
    """A part of the card: Markdown with ``str.format`` fields, in ``assets/modelcard/NAME.md``."""
    return (TEMPLATES / f"{name}.md").read_text()


def write(out_dir: Path, model, log: PretrainLog, ppl: dict, texts: dict[str, str], gap: Gap | None,
          command: str, extra: dict) -> None:
    """The card (README.md), its loss curve (loss_curve.png) and every figure in metrics.json."""
    plot_losses(log, out_dir / "loss_curve.png")
    cfg = model.config
    params = sum(p.numel() for p in model.parameters())
    size_mb = (out_dir / "model.safetensors").stat().st_size / 1e6
    info = machine()
    metrics = {"parameters": params, "weights_mb": size_mb, "perplexity": ppl, "gap": asdict(gap) if gap else None,
               "samples": texts, "command": command, "machine": info, **extra, "log": log.to_dict()}
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")

    rows = "\n".join(f"| {kind} | {v['tokens']:,} | {v['model']:.1f} | {v['unigram']:.1f} | {v['unigram'] / v['model']:.1f}x |"
                     for kind, v in ppl.items())
    parts = "\n".join(f"| {kind} | {n:,} |" for kind, n in log.corpus_parts.items())
    runs = "\n".join(f"| one of them: seed {seed} | {layout:.0%} | {facts:.0%} |" for seed, layout, facts in gap.runs) if gap else ""
    gap_text = "not measured in this build." if gap is None else _template("gap").rstrip("\n").format(
        gap=gap, n_runs=len(gap.runs), runs=runs, base_example=gap.base_example.strip(),
        tuned_example=gap.tuned_example.strip(),
        by_fact=", ".join(f"{name} {right}/{asked}" for name, (right, asked) in gap.tuned_by_fact.items()))
    sample_text = "\n\n".join(f"**{prompt!r}** →\n```text\n{prompt}{text}\n```" for prompt, text in texts.items())
    load = log.load_average or [float("nan")]
    warm = log.copy_loss or [float("nan")]
    card = _template("card").format(
        cfg=cfg, log=log, info=info, command=command, params=params, params_m=params / 1e6, size_mb=size_mb,
        documents=sum(log.corpus_parts.values()), parts=parts, HELD_OUT_PARCELS=HELD_OUT_PARCELS, steps=len(log.steps),
        warm_first=warm[0], warm_last=warm[-1], copy_minutes=log.seconds["copy warm-up"] / 60,
        training_minutes=log.seconds["training"] / 60, build_minutes=extra.get("build_minutes", float("nan")),
        load_min=min(load), load_max=max(load), rows=rows, sample_text=sample_text, gap_text=gap_text)
    (out_dir / "README.md").write_text(card)
