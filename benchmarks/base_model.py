"""Benchmark: what the committed course model can and cannot do, measured now on this machine.

Prints, in one run:
- load time and size of the course model;
- held-out perplexity on general English and on world prose, next to a unigram baseline;
- the behaviour gap: LandAI layout and fact rates on 50 held-out parcels, zero-shot and
  after a LoRA fine-tune (peft) on 200 conversations x 3 epochs, with the fine-tune's seconds;
- the figures the build recorded (steps, tokens, wall time, load average).

Run from the repository root:  .venv/bin/python benchmarks/base_model.py
Targets: unigram / model perplexity well above 1; layout < 5% before, >= 95% after; facts >= 90% after;
fine-tune < 60 s and load < 2 s on 2 idle cores (see the load average printed with them).
"""
from __future__ import annotations

import json
import os
import time

import torch


def main() -> None:
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    from ftcourse import models, modelcard
    from ftcourse.corpus import build
    from ftcourse.tokenizer import render_chat

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

    gap = modelcard.behaviour_gap(model, tokenizer)
    print(f"\nLandAI buyer summaries on {gap.eval_parcels} held-out parcels   layout   facts")
    print(f"  base model, zero-shot                          {gap.base_layout:>6.0%} {gap.base_facts:>7.0%}")
    print(f"  LoRA on {gap.train_examples} conversations x {gap.epochs} epochs          {gap.tuned_layout:>6.0%} {gap.tuned_facts:>7.0%}")
    print(f"  fine-tune: {gap.finetune_seconds:.1f} s (target < 60 s)")

    built = json.loads((models.COURSE_MODEL_DIR / "metrics.json").read_text())
    log = built["log"]
    print(f"\nas built: {len(log['steps']):,} steps, {log['tokens']:,} tokens, {built['build_minutes']:.1f} min "
          f"(training {log['seconds']['training'] / 60:.1f} min), load average {min(log['load_average']):.1f}"
          f"-{max(log['load_average']):.1f} during training; command: {built['command']}")
    print(f"load average at end: {os.getloadavg()[0]:.1f} (timings above 2 cores' worth of load are provisional)")


if __name__ == "__main__":
    main()
