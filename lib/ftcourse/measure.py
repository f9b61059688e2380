"""Memory measured, not estimated: what PyTorch allocates for a call, a model, a training step.

``measure_peak_memory`` runs a function and reports the peak and what it left allocated;
``measure_training_step`` measures one AdamW step of full fine-tuning, LoRA or QLoRA (peft); the
tables put each measurement next to ``ftcourse.memory``'s estimate, so every estimate is checked.
"""
from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd
import torch
from torch import nn

from . import models
from .env import device as default_device
from .memory import DEFAULT_LORA_R, WEIGHT_FORMATS, block_linears, estimate_training_memory, weight_memory

@dataclass
class Measurement:
    """Bytes allocated by ``fn`` above what was allocated when it started.

    ``peak`` is the highest point during the call, ``retained`` what was still allocated when it
    returned (what ``fn`` left behind, e.g. a model's weights); ``method`` says how it was seen.
    """

    peak: int
    retained: int
    device: str
    method: str
    result: Any = None


@contextlib.contextmanager
def _quiet_fd2():
    """Silence file descriptor 2: PyTorch's profiler backend prints start/stop lines there."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _measure_cpu(fn: Callable[[], Any]) -> Measurement:
    from torch.profiler import ProfilerActivity, profile

    prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
    gc.collect()
    with _quiet_fd2():
        prof.start()
    try:
        result = fn()
        gc.collect()
    finally:
        with _quiet_fd2():
            prof.stop()
    cpu = torch._C._autograd.DeviceType.CPU
    events = sorted(
        (e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]" and e.device_type() == cpu),
        key=lambda e: e.start_ns(),
    )
    current = peak = 0
    for e in events:
        current += e.nbytes()
        peak = max(peak, current)
    return Measurement(peak, current, "cpu", "torch.profiler (profile_memory=True): every allocation of PyTorch's CPU allocator", result)


def _measure_cuda(fn: Callable[[], Any], device: torch.device) -> Measurement:
    gc.collect()
    torch.cuda.synchronize(device)
    start = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    result = fn()
    gc.collect()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - start
    retained = torch.cuda.memory_allocated(device) - start
    return Measurement(peak, retained, str(device), "torch.cuda.max_memory_allocated (peak reset before the call)", result)


def measure_peak_memory(fn: Callable[[], Any], device: str | torch.device | None = None) -> Measurement:
    """Run ``fn()`` and measure the memory PyTorch allocated for it, at its peak and at its end.

    On CUDA: ``torch.cuda.max_memory_allocated`` with the peak reset just before the call.
    On CPU: the PyTorch profiler with ``profile_memory=True`` records every allocation and free of
    PyTorch's CPU allocator on this thread (and autograd's, which inherits the profiler); the
    running sum gives the peak exactly. Python's ``tracemalloc`` would see none of it: tensor
    storage comes from PyTorch's C++ allocator, not from Python's. Allocations made on other
    threads (a thread pool, say) are not seen on CPU.

    Python's garbage collector runs before the call, so that earlier garbage is not freed during
    the measurement, and after it, so that ``retained`` counts only what ``fn`` left reachable.
    """
    device = torch.device(device or default_device())
    if device.type == "cuda":
        return _measure_cuda(fn, device)
    if device.type != "cpu":
        raise ValueError(f"measure_peak_memory measures cpu or cuda, not {device.type}")
    return _measure_cpu(fn)


# ---------------------------------------------------------------- one training step, measured


# bitsandbytes' quantization of each weight format (fp32 and bf16 load unquantized)
QUANTIZATION = {"fp32": None, "bf16": None, "int8": "int8", "nf4": "nf4", "nf4-dq": "nf4"}


def pretrained_loader(path, fmt: str, device: str | None = None, compute_dtype: torch.dtype | None = None,
                      share_code_tables: bool = True) -> Callable[[], nn.Module]:
    """A function that loads the checkpoint at ``path`` in weight format ``fmt`` onto ``device`` (``models.load_model``).

    Unquantized parts load in bf16 (fp32 for ``fp32``). 4-bit layers compute in ``compute_dtype``:
    by default bf16 on a GPU and fp32 on a CPU, where bf16 matrix products are often emulated and
    several times slower; the memory a step keeps does not depend on it (see
    ``memory.estimate_training_memory``). So that a measurement sees exactly the model's tensors,
    loading runs on the calling thread (``HF_DEACTIVATE_ASYNC_LOAD``: transformers otherwise fills
    tensors from a thread pool, whose allocations ``measure_peak_memory`` cannot see on CPU), and
    each unquantized CPU tensor is copied out of the checkpoint file that transformers maps into
    memory (a tensor left pointing into it keeps the whole mapping alive, the bytes of the quantized
    originals included).
    """
    if fmt not in QUANTIZATION:
        raise ValueError(f"weight format {fmt!r} is not one of {WEIGHT_FORMATS}")
    device = device or default_device()
    compute_dtype = compute_dtype or (torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32)
    if fmt in ("nf4", "nf4-dq"):
        # bitsandbytes caches its code tables on first use; fill the caches now, outside any measurement.
        from bitsandbytes.functional import quantize_4bit

        quantize_4bit(torch.ones(64, 64, device=device), quant_type="nf4", compress_statistics=fmt == "nf4-dq")

    def load() -> nn.Module:
        before = os.environ.get("HF_DEACTIVATE_ASYNC_LOAD")
        os.environ["HF_DEACTIVATE_ASYNC_LOAD"] = "1"
        try:
            model = models.load_model(path, dtype=torch.float32 if fmt == "fp32" else torch.bfloat16, quantization=QUANTIZATION[fmt],
                                      device=device, double_quant=fmt == "nf4-dq", compute_dtype=compute_dtype,
                                      share_tables=share_code_tables)
        finally:
            if before is None:
                del os.environ["HF_DEACTIVATE_ASYNC_LOAD"]
            else:
                os.environ["HF_DEACTIVATE_ASYNC_LOAD"] = before
        for t in [*model.parameters(), *model.buffers()]:
            if t.device.type == "cpu" and t.is_floating_point():
                t.data = t.data.clone()
        return model

    return load


def _warm_up_cuda(device) -> None:
    """Run a matrix product forward and backward in each dtype once, so that cuBLAS allocates its
    workspaces now and not inside the measurement, where they would look like gradients."""
    for dtype in (torch.float32, torch.bfloat16):
        a = torch.ones(64, 64, device=device, dtype=dtype, requires_grad=True)
        (a @ a).sum().backward()
    torch.cuda.synchronize(device)


@dataclass
class StepMeasurement:
    """Measured bytes of one training step: what stays between steps, and the peak of a step."""

    weights: int  # everything the model holds after loading and preparing it, adapters included
    gradients: int
    optimizer_state: int
    peak: int  # highest allocation during a second step, the static part included
    method: str

    @property
    def static(self) -> int:
        return self.weights + self.optimizer_state


def measure_training_step(
    load: Callable[[], nn.Module],
    method: str,
    *,
    batch_size: int = 1,
    seq_len: int = 128,
    lora_r: int | None = None,
    lora_targets=None,
    lr: float = 1e-4,
    device: str | None = None,
    seed: int = 0,
) -> StepMeasurement:
    """Load a model, prepare it for ``method`` with peft, and measure two AdamW steps on random tokens.

    ``load()`` returns the model (on ``device``), full precision or quantized; it runs inside the
    measurement, so ``weights`` is everything loading and preparing left allocated. ``lora``
    and ``qlora`` wrap it with peft's ``LoraConfig`` (``qlora`` after
    ``prepare_model_for_kbit_training``, which also turns on gradient checkpointing). The first
    step creates the gradients and AdamW's moments; the second measures a steady step's peak.
    AdamW runs per tensor (``foreach=False``), as it does by default on CPU, on every device.
    """
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    device = device or default_device()
    if torch.device(device).type == "cuda":
        _warm_up_cuda(device)

    def build() -> nn.Module:
        model = load()
        if method == "qlora":
            model = prepare_model_for_kbit_training(model)
        if method in ("lora", "qlora"):
            targets = "all-linear" if lora_targets is None else lora_targets
            model = get_peft_model(model, LoraConfig(r=lora_r or DEFAULT_LORA_R, target_modules=targets, lora_dropout=0.0))
        return model.train()

    built = measure_peak_memory(build, device)
    model = built.result
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=lr, foreach=False)
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, model.config.vocab_size, (batch_size, seq_len), generator=g).to(device)

    def forward_backward():
        model(input_ids=ids, labels=ids).loss.backward()

    def step():
        forward_backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    grads = measure_peak_memory(forward_backward, device)
    states = measure_peak_memory(optimizer.step, device)
    optimizer.zero_grad(set_to_none=True)
    second = measure_peak_memory(step, device)
    static = built.retained + states.retained
    return StepMeasurement(built.retained, grads.retained, states.retained, static + second.peak, second.method)


# ---------------------------------------------------------------- tables: estimated next to measured


def random_checkpoint(config, folder, seed: int = 0, dtype: torch.dtype = torch.bfloat16):
    """Save a randomly initialised model of ``config`` to ``folder`` as a pretrained checkpoint.

    Memory does not depend on what the weights are, only on their shapes, so a random model
    measures the same as a trained one of that shape.
    """
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(config).to(dtype).save_pretrained(folder)
    return folder


def _error(estimated: float, measured: float) -> float:
    return 100 * (estimated - measured) / measured


def footprint_table(path, formats=WEIGHT_FORMATS, device: str | None = None, share_code_tables: bool = True) -> pd.DataFrame:
    """Weights-only memory of the checkpoint at ``path`` in each format: measured, estimated, reported.

    ``get_memory_footprint`` is what transformers reports (parameters and buffers only); the
    last column divides what the quantized block linears really take (everything measured minus
    the unquantized tensors) by their number of weights.
    """
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(path)
    rows = []
    for fmt in formats:
        m = measure_peak_memory(pretrained_loader(path, fmt, device, share_code_tables=share_code_tables), device)
        model = m.result
        linears = block_linears(model)
        quantized = sum(q.in_features * q.out_features for q in linears.values())
        plain = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()] if t.is_floating_point())
        est = weight_memory(config, fmt, share_code_tables=share_code_tables)
        rows.append({
            "format": fmt,
            "measured MB": m.retained / 1e6,
            "estimated MB": sum(est.values()) / 1e6,
            "error %": _error(sum(est.values()), m.retained),
            "get_memory_footprint MB": model.get_memory_footprint() / 1e6,
            "bytes/param, block linears": (m.retained - plain) / quantized if fmt not in ("fp32", "bf16") else (4.0 if fmt == "fp32" else 2.0),
        })
        del model, m
    return pd.DataFrame(rows).set_index("format")


def training_table(path, runs, *, batch_size: int, seq_len: int, lora_r: int | None = None, device: str | None = None, progress=None) -> pd.DataFrame:
    """One AdamW training step per ``(method, format)`` in ``runs``: estimated next to measured.

    ``format`` is the weights' format as loaded (``fp32``, ``bf16``, ``nf4``, ``nf4-dq``); QLoRA
    runs turn on gradient checkpointing, as ``prepare_model_for_kbit_training`` does, and the
    estimate is told so. ``progress`` wraps the runs (e.g. ``tqdm``).
    """
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(path)
    rows = []
    for method, fmt in (progress or list)(runs):
        start = time.perf_counter()
        measured = measure_training_step(pretrained_loader(path, fmt, device), method, batch_size=batch_size, seq_len=seq_len, lora_r=lora_r, device=device)
        seconds = time.perf_counter() - start
        est = estimate_training_memory(
            config, method, weight_dtype=torch.bfloat16 if fmt == "bf16" else torch.float32, batch_size=batch_size, seq_len=seq_len,
            lora_r=lora_r, gradient_checkpointing=method == "qlora", double_quant=fmt == "nf4-dq",
        )
        est_static = est.static
        rows.append({
            "method": method,
            "weights": fmt,
            "weights+optimizer MB": measured.static / 1e6,
            "estimated MB": est_static / 1e6,
            "error %": _error(est_static, measured.static),
            "peak MB": measured.peak / 1e6,
            "estimated peak MB": est.peak / 1e6,
            "peak error %": _error(est.peak, measured.peak),
            "seconds": seconds,
        })
    return pd.DataFrame(rows)
