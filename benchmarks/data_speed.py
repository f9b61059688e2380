"""How fast the data tools are, measured: validate + token-count 100,000 chat examples; near-dup 10,000.

Run by hand from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/data_speed.py [--examples 100000] [--near 10000] [--tokenizer DIR]

Each fast path is printed beside the slow, obviously right one it replaces (the
reference token count through ``apply_chat_template``'s assistant mask, and an
all-pairs Jaccard comparison), measured on a sample and scaled up, with the
machine's load before and after: figures taken while the load is above the core
count are not to be trusted.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from ftcourse import chat, dedup, tokens, world
from ftcourse.world import messy
from ftcourse.world.parcels import COURSE_IDS


def examples(n: int, seed: int = 0) -> list[dict]:
    """LandAI conversations over every course parcel in turn, each round by the next of the five writers.

    Up to 4,000 x 5 of them are distinct conversations (the parcels times the writers).
    """
    rng = random.Random(seed)
    ids, writers = list(COURSE_IDS), messy.WRITERS
    return [messy.example(writers[(i + i // len(ids)) % len(writers)], world.parcel(ids[i % len(ids)]), rng) for i in range(n)]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def bench_validate(n: int, tokenizer) -> None:
    data = examples(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.jsonl"
        path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in data), encoding="utf-8")
        size = path.stat().st_size
        report, t_validate = timed(lambda: chat.validate_file(path, tokenizer=None))
        context = tokens.context_length(tokenizer)
        counted, t_both = timed(lambda: chat.validate_file(path, tokenizer=tokenizer))
    assert report.ok and counted.examples == n
    sample = data[: min(1000, n)]
    _, t_ref = timed(lambda: [tokens.reference_count(tokenizer, e["messages"]) for e in sample])
    _, t_fast = timed(lambda: tokens.count(tokenizer, [e["messages"] for e in sample]))
    total = sum(c.total for c in tokens.count(tokenizer, [e["messages"] for e in sample]))
    print(f"\nValidate + token-count {n:,} examples ({size / 2**20:.1f} MiB, ~{total / len(sample):.0f} tokens each, context {context}):")
    print(f"  validate only                     {t_validate:7.2f} s")
    print(f"  validate + count tokens (fast)    {t_both:7.2f} s   <- the bar: under 60 s on 2 cores")
    print(f"  token counting, fast batch path   {t_fast / len(sample) * 1e6:7.0f} us per example")
    print(f"  token counting, reference path    {t_ref / len(sample) * 1e6:7.0f} us per example "
          f"({t_ref / t_fast:.1f}x slower; {t_ref / len(sample) * n:.0f} s for all {n:,})")


def bench_near(n: int) -> None:
    rng = random.Random(1)
    base = [dedup.conversation_text(e) for e in examples(n * 9 // 10, seed=2)]
    copies = []
    for text in rng.sample(base, n - len(base)):
        words = text.split(" ")
        words[rng.randrange(len(words))] = "edited"
        copies.append(" ".join(words).upper() if rng.random() < 0.5 else " ".join(words))
    texts = base + copies
    clusters, t_lsh = timed(lambda: dedup.near_duplicates(texts, 0.8))
    hasher = dedup.MinHasher()
    sample = texts[:1000]
    sets = [set(hasher.shingles(t).tolist()) for t in sample]

    def all_pairs():
        return sum(len(a & b) / len(a | b) >= 0.8 for i, a in enumerate(sets) for b in sets[i + 1:])

    _, t_pairs = timed(all_pairs)
    scaled = t_pairs * (n * (n - 1)) / (len(sample) * (len(sample) - 1))
    print(f"\nNear-duplicates among {n:,} examples ({len(copies):,} edited copies planted, threshold 0.8):")
    print(f"  MinHash + LSH                     {t_lsh:7.2f} s   <- the bar: under 30 s on 2 cores; "
          f"{len(clusters):,} clusters, {sum(len(c.dropped) for c in clusters):,} copies")
    print(f"  all pairs, exact Jaccard          {scaled:7.1f} s   (measured on {len(sample):,}, scaled by n^2; {scaled / t_lsh:.0f}x slower)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--near", type=int, default=10_000)
    parser.add_argument("--tokenizer", default="course-base", help="a tokenizer folder or hub id (default: the course model's, %(default)s)")
    args = parser.parse_args()
    print(f"Before: {load()}")
    bench_validate(args.examples, tokens.load_tokenizer(args.tokenizer))
    bench_near(args.near)
    print(f"\nAfter: {load()}")


if __name__ == "__main__":
    main()
