"""``ftcourse build-base-model``: pretrain the course model from scratch and write its model card."""
from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from ..grading.layout import CourseNotFound, find_root


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "build-base-model",
        help="pretrain the course's base model from scratch (about half an hour on 2 cores)",
        description="Build the corpus and tokenizer, pretrain the course model, measure it and write its model card.",
    )
    p.add_argument("--smoke", action="store_true", help="a tiny model for a few steps: checks the whole pipeline in seconds")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where to write the model (default: the course model's folder in the package; with --smoke: build/course-base-smoke)")
    p.add_argument("--no-gap", action="store_true", help="skip the before/after fine-tuning measurement")
    p.set_defaults(handler=handle)


def _default_out(smoke: bool) -> Path:
    if not smoke:
        from ..models import COURSE_MODEL_DIR

        return COURSE_MODEL_DIR
    try:
        return find_root() / "build" / "course-base-smoke"
    except CourseNotFound:
        return Path("build") / "course-base-smoke"


def handle(args: argparse.Namespace) -> int:
    from ..basemodel import modelcard
    from ..basemodel.pretrain import SMOKE, Recipe, pretrain, save

    start = time.perf_counter()
    out = args.out or _default_out(args.smoke)
    command = "ftcourse build-base-model" + (" --smoke" if args.smoke else "") + (f" --out {args.out}" if args.out else "")
    recipe = SMOKE if args.smoke else Recipe()
    model, tokenizer, corpus, log = pretrain(recipe)
    # Write next to the destination first, so a failed build leaves the old model whole.
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    save(model, tokenizer, partial)
    print("measuring perplexity, samples" + ("" if args.no_gap else " and the fine-tuning gap") + " ...")
    ppl = modelcard.perplexities(model, tokenizer, corpus, recipe.context)
    texts = modelcard.samples(model, tokenizer, max_new_tokens=12 if args.smoke else 48)
    gap = None
    if not args.no_gap:
        sizes = dict(n_train=8, n_eval=2, epochs=1, seeds=(0,)) if args.smoke else {}
        gap = modelcard.behaviour_gap(model, tokenizer, **sizes)
    minutes = (time.perf_counter() - start) / 60
    modelcard.write(partial, model, log, ppl, texts, gap, command,
                    {"build_minutes": minutes, "load_average_end": os.getloadavg()[0]})
    out.mkdir(parents=True, exist_ok=True)
    for file in sorted(partial.iterdir()):  # replace only the files a build writes; anything else in DIR stays
        file.replace(out / file.name)
    partial.rmdir()
    print(f"wrote {out} in {minutes:.1f} min")
    for kind, v in ppl.items():
        print(f"held-out {kind}: perplexity {v['model']:.1f} (unigram {v['unigram']:.1f})")
    if gap:
        print(f"layout {gap.base_layout:.0%} -> {gap.tuned_layout:.0%}, facts {gap.base_facts:.0%} -> {gap.tuned_facts:.0%},"
              f" fine-tune {gap.finetune_seconds:.0f} s")
    return 0
