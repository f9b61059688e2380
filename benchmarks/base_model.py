"""Benchmark: what the committed course model can and cannot do, measured now on this machine.

Prints, in one run:
- load time and size of the course model;
- held-out perplexity on general English and on world prose, next to a unigram baseline;
- the behaviour gap: LandAI layout and fact rates on 50 held-out parcels, zero-shot and
  after the model card's LoRA fine-tunes (peft, one per seed) on 200 conversations, with their seconds,
  then what the fine-tuned summaries get right fact by fact (the verdict per branch of its rule) and
  bullet by bullet (a bullet of numbers is right only if they were copied from the record);
- how well the base model reads those 50 records, asked in the corpus's own question-and-answer
  form (no fine-tune): a fact it cannot read from a record, the fine-tuned summary can only guess;
- whether it can copy at all: random tokens, and those records, written twice;
- the figures the build recorded (steps, tokens, wall time, load average).

Run from the repository root:  .venv/bin/python benchmarks/base_model.py
Targets: unigram / model perplexity well above 1; layout < 5% before, >= 95% after; facts >= 90% after;
fine-tune < 60 s and load < 2 s on 2 idle cores (see the load average printed with them).
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter

import torch


@torch.no_grad()
def read_back(model, tokenizer, parcels) -> dict[str, tuple[int, int]]:
    """(right, asked) per fact, answered greedily after ``record\n\nQ: ...\nA:`` as in the corpus.

    The verdict is counted per branch of LandAI's rule (``landai.branch``).
    """
    from ftcourse.world.landai import branch, verdict

    def answer(p, question: str, max_new_tokens: int) -> str:
        ids = tokenizer(f"{p.record()}\n\nQ: {question}\nA:", return_tensors="pt").input_ids
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).split("\n")[0].strip()

    right, asked = Counter(), Counter()
    for p in parcels:
        checks = {
            "zoning code": answer(p, f"What is parcel {p.parcel_id} zoned?", 8).startswith(f"{p.zoning},"),
            "flood zone": f"zone {p.flood_zone}." in answer(p, "What is the flood risk?", 12),
            "slope": (said := answer(p, "How steep is it?", 12)).startswith(f"The slope is {p.slope_pct:g}%"),
            "terrain in a word": said.endswith(f"%, {p.terrain}."),
            f"verdict, {branch(p)}": verdict(p) in answer(p, "Can I build on it?", 48),
        }
        right.update(fact for fact, ok in checks.items() if ok)
        asked.update(checks.keys())
    return {fact: (right[fact], n) for fact, n in asked.items()}


@torch.no_grad()
def copying(model, tokenizer, parcels, *, rows: int = 16, length: int = 40) -> dict[str, float]:
    """Next-token accuracy where the right token is already in the context, read back word for word.

    Random tokens written twice, a line break between as in the build's copy warm-up, can be
    continued only by copying (what an induction head does); a record written twice, as the
    corpus's record updates write it, is the same skill on the course's own text, graded on the
    values (what follows each ``key:``) of the second copy.
    """
    random_ids = torch.randint(len(tokenizer.all_special_ids), len(tokenizer), (rows, length),
                               generator=torch.Generator().manual_seed(0))
    newline = torch.full((rows, 1), tokenizer.convert_tokens_to_ids("Ċ"))
    ids = torch.cat([torch.full((rows, 1), tokenizer.bos_token_id), random_ids, newline, random_ids], 1)
    guess = model(ids).logits.argmax(-1)
    # graded from the copy's second token on: its first cannot be foreseen
    random_right = (guess[:, length + 2:-1] == ids[:, length + 3:]).float().mean().item()

    right = asked = 0
    for p in parcels:
        record = p.record()
        head = f"before:\n{record}\n\nafter:\n"
        values, at = [], len(head)
        for line in record.splitlines():
            values.append((at + line.index(": ") + 1, at + len(line)))  # a value's token holds its space
            at += len(line) + 1
        enc = tokenizer(head + record, return_offsets_mapping=True)
        guess = model(torch.tensor([enc.input_ids])).logits[0].argmax(-1)
        for i, (start, _) in enumerate(enc.offset_mapping):
            if any(a <= start < b for a, b in values):
                right += int(guess[i - 1]) == enc.input_ids[i]
                asked += 1
    return {"random tokens, second copy": random_right, "record values, second copy": right / asked}


def main() -> None:
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    from ftcourse import models
    from ftcourse.basemodel import modelcard
    from ftcourse.basemodel.corpus import build
    from ftcourse.basemodel.tokenizer import render_chat

    imported = time.perf_counter() - start
    start = time.perf_counter()
    model, tokenizer = models.load(device="cpu")
    load_seconds = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    weights = (models.COURSE_MODEL_DIR / "model.safetensors").stat().st_size / 1e6
    print(f"torch threads: {torch.get_num_threads()}, load average at start: {load_before:.1f}")
    print(f"import ftcourse.models: {imported:.2f} s; load('course-base'): {load_seconds:.2f} s (target < 2 s)")
    print(f"parameters: {params:,}; weights: {weights:.1f} MB (limit 25 MB)")

    corpus = build(render_chat)
    ppl = modelcard.perplexities(model, tokenizer, corpus, model.config.max_position_embeddings)
    print("\nheld-out perplexity     model   unigram   unigram/model")
    for kind, v in ppl.items():
        print(f"  {kind:<20} {v['model']:>7.1f} {v['unigram']:>9.1f} {v['unigram'] / v['model']:>11.1f}x  ({v['tokens']:,} tokens)")

    _, eval_parcels = modelcard.gap_parcels()
    print(f"\nreading the {len(eval_parcels)} held-out records, base model, zero-shot Q&A:")
    for fact, (right, asked) in read_back(model, tokenizer, eval_parcels).items():
        print(f"  {fact:<22} {right:>3}/{asked}")

    print("\ncopying from the context, next-token accuracy (teacher-forced):")
    for what, rate in copying(model, tokenizer, eval_parcels).items():
        print(f"  {what:<27} {rate:>5.0%}")

    gap = modelcard.behaviour_gap(model, tokenizer)
    rows = [(f"LandAI buyer summaries on {gap.eval_parcels} held-out parcels", "layout", "facts"),
            ("  base model, zero-shot", f"{gap.base_layout:.0%}", f"{gap.base_facts:.0%}"),
            (f"  LoRA, mean of {len(gap.runs)} fine-tunes", f"{gap.tuned_layout:.0%}", f"{gap.tuned_facts:.0%}"),
            *((f"    seed {seed}", f"{layout:.0%}", f"{facts:.0%}") for seed, layout, facts in gap.runs)]
    print()
    for label, layout, facts in rows:
        print(f"{label:<56}{layout:>6}{facts:>8}")
    print(f"  each: {gap.train_examples} conversations (at least {gap.branch_minimum} of each verdict branch) x {gap.epochs}"
          f" epochs, batches of {gap.batch_size}, lr {gap.lr}; {gap.finetune_seconds:.1f} s on average (target < 60 s)")
    print("\nafter the fine-tunes, right per fact over all of them (the verdict by the branch of the rule that decides it):")
    for fact, (right, asked) in gap.tuned_by_fact.items():
        print(f"  {fact:<22} {right:>3}/{asked}")
    print("bullets exactly as the target (numbers copied from the record, not just a plausible layout):")
    print("  " + ", ".join(f"{name} {n}/{gap.eval_parcels * len(gap.runs)}" for name, n in gap.tuned_fields.items()))

    built = json.loads((models.COURSE_MODEL_DIR / "metrics.json").read_text())
    log = built["log"]
    print(f"\nas built: {len(log['steps']):,} steps, {log['tokens']:,} tokens, {built['build_minutes']:.1f} min "
          f"(copy warm-up {log['seconds']['copy warm-up'] / 60:.1f} min, training {log['seconds']['training'] / 60:.1f} min), "
          f"load average {min(log['load_average']):.1f}-{max(log['load_average']):.1f} during training; "
          f"command: {built['command']}")
    print(f"load average at end: {os.getloadavg()[0]:.1f} (timings above 2 cores' worth of load are provisional)")


if __name__ == "__main__":
    main()
