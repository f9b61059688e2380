"""How fast is ftcourse's LoRALinear? Against peft's LoRA Linear, and merged against a plain nn.Linear.

Run by hand:  .venv/bin/python benchmarks/lora_speed.py [--repeats 15] [--device cpu]

For each layer shape it times, interleaved round by round so that a busy machine slows
every candidate alike, after a warm-up, and reports the median of the rounds:
  - training step: forward + backward of LoRALinear vs peft's LoRA Linear, same A, B, W;
  - inference: forward of a merged LoRALinear vs the plain nn.Linear it wraps.
A ratio below 1.0 means ours is faster. The machine's load is printed with the numbers.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

import torch
from peft import LoraConfig
from peft.tuners.lora import Linear as PeftLoraLinear
from torch import nn

from ftcourse.env import device as default_device
from ftcourse.lora import LoRALinear

# (tokens in a batch, in_features, out_features, r): a small attention projection up to a 7B-sized one.
SHAPES = [(512, 256, 256, 8), (1024, 1024, 1024, 16), (512, 4096, 4096, 16)]
ALPHA_OVER_R = 2


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def median_ms(candidates: dict, repeats: int, iters: int, device: str) -> dict[str, float]:
    """Median milliseconds per call of each candidate, timed in interleaved rounds (order alternating) after a warm-up round."""
    times = {name: [] for name in candidates}
    for round_ in range(repeats + 1):
        order = list(candidates.items())
        for name, fn in order if round_ % 2 else order[::-1]:  # alternate who goes first: no seat is favoured
            sync(device)
            start = time.perf_counter()
            for _ in range(iters):
                fn()
            sync(device)
            if round_:  # round 0 is the warm-up
                times[name].append((time.perf_counter() - start) * 1000 / iters)
    return {name: statistics.median(t) for name, t in times.items()}


def train_step(layer: nn.Module, x: torch.Tensor):
    params = [p for p in layer.parameters() if p.requires_grad]

    def step():
        for p in (*params, x):
            p.grad = None
        layer(x).sum().backward()

    return step


def inference(layer: nn.Module, x: torch.Tensor):
    def forward():
        with torch.no_grad():
            layer(x)

    return forward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per candidate (median reported)")
    parser.add_argument("--device", default=default_device())
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores, median of {args.repeats} rounds")
    header = f"{'tokens x in -> out, r':>26} | {'ours f+b':>9} {'peft f+b':>9} {'ratio':>6} | {'merged fwd':>10} {'Linear fwd':>10} {'ratio':>6}"
    print(header + "\n" + "-" * len(header))
    for tokens, d_in, d_out, r in SHAPES:
        base = nn.Linear(d_in, d_out, device=args.device)
        ours = LoRALinear(copy.deepcopy(base), r, ALPHA_OVER_R * r)
        config = LoraConfig(r=r, lora_alpha=ALPHA_OVER_R * r)
        theirs = PeftLoraLinear(copy.deepcopy(base), "default", config=config, r=r, lora_alpha=ALPHA_OVER_R * r)
        theirs.base_layer.requires_grad_(False)  # peft's model wrapper freezes W; the bare layer does not
        with torch.no_grad():
            ours.lora_B.normal_()
            theirs.lora_A["default"].weight.copy_(ours.lora_A)
            theirs.lora_B["default"].weight.copy_(ours.lora_B)
        x = torch.randn(tokens, d_in, device=args.device, requires_grad=True)
        iters = max(1, int(2e9 // (tokens * d_in * d_out * 6)))  # about the same work per timed block
        train = median_ms({"ours": train_step(ours, x), "peft": train_step(theirs, x)}, args.repeats, iters, args.device)
        ours.merge()
        infer = median_ms({"merged": inference(ours, x), "linear": inference(base, x)}, args.repeats, iters, args.device)
        print(f"{f'{tokens} x {d_in} -> {d_out}, r={r}':>26} | {train['ours']:>7.3f}ms {train['peft']:>7.3f}ms "
              f"{train['ours'] / train['peft']:>6.3f} | {infer['merged']:>8.3f}ms {infer['linear']:>8.3f}ms "
              f"{infer['merged'] / infer['linear']:>6.3f}")
    print(f"load average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
