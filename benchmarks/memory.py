"""Memory of full fine-tuning, LoRA and QLoRA: the estimator next to measurement, per model size.

For each model (the course model and random-initialised Llama-shaped ones), this measures

1. the weights alone in fp32, bf16, int8, NF4 and NF4 with double quantization (bitsandbytes via
   transformers' ``BitsAndBytesConfig``), next to the estimate and ``get_memory_footprint``;
2. one AdamW training step for full fine-tuning, LoRA and QLoRA (peft), next to the estimate.

It prints both tables and checks the bars: estimate within 10% of measurement for weights plus
optimizer state on every run, and at most 0.52 bytes per weight for the NF4 double-quantized
block linears. Run by hand (not in CI); it takes minutes and a few GB of memory for llama-350m:

    .venv/bin/python benchmarks/memory.py                        # course model, 25m, 100m, 350m
    .venv/bin/python benchmarks/memory.py --models llama-25m --dtypes fp32,bf16
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import torch

from ftcourse import measure, memory
from ftcourse.env import device as default_device

BARS = {"error %": 10.0, "bytes/param": 0.52}


def checkpoints(names: list[str], folder: Path) -> dict[str, Path]:
    """Each model by name: the course model's own files, or a random-initialised Llama shape."""
    found = {}
    for name in names:
        if name == "course":
            from ftcourse import models

            found[name] = models.COURSE_MODEL_DIR
        else:
            found[name] = measure.random_checkpoint(memory.llama_config(name), folder / name)
    return found


def runs(dtypes: list[str]) -> list[tuple[str, str]]:
    plain = [(method, dtype) for dtype in dtypes for method in ("full", "lora")]
    return plain + [("qlora", "nf4-dq")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="course,llama-25m,llama-100m,llama-350m")
    parser.add_argument("--dtypes", default="fp32", help="weight dtypes of the full and LoRA runs (fp32, bf16)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--lora-r", type=int, default=16)
    args = parser.parse_args()

    from transformers import AutoConfig
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)
    device = default_device()
    print(f"device: {torch.cuda.get_device_name(0) if device == 'cuda' else platform.processor() or 'cpu'}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}")
    print(f"training step: AdamW, batch {args.batch_size} x {args.seq_len} tokens, LoRA r={args.lora_r} on every block linear\n")

    footprints, steps = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in checkpoints(args.models.split(","), Path(tmp)).items():
            params = memory.parameter_count(memory.meta_model(AutoConfig.from_pretrained(path)))
            print(f"== {name}: {params / 1e6:.1f}M parameters")
            table = measure.footprint_table(path, device=device).assign(model=name)
            print(table.round(3).to_string(), "\n")
            footprints.append(table)
            step = measure.training_table(
                path, runs(args.dtypes.split(",")), batch_size=args.batch_size, seq_len=args.seq_len, lora_r=args.lora_r, device=device
            ).assign(model=name)
            print(step.round(2).to_string(index=False), "\n")
            steps.append(step)

    step = pd.concat(steps)
    worst = step["error %"].abs().max()
    nf4 = pd.concat(footprints).loc[["nf4-dq"]]
    print(f"bar 1: weights + optimizer state, estimate vs measured: worst error {worst:.2f}% "
          f"({'PASS' if worst <= BARS['error %'] else 'FAIL'}, bar {BARS['error %']:.0f}%)")
    for model, bpp in zip(nf4["model"], nf4["bytes/param, block linears"]):
        print(f"bar 2: {model}: NF4 + double quantization, block linears: {bpp:.4f} bytes/param "
              f"({'PASS' if bpp <= BARS['bytes/param'] else 'FAIL'}, bar {BARS['bytes/param']})")
    return 0 if worst <= BARS["error %"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
