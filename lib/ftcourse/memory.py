"""Training memory of full fine-tuning, LoRA and QLoRA: estimated from a config, measured on a device.

The estimate adds up what a training step keeps in memory, component by component:

- weights: every parameter once, in its dtype; QLoRA's 4-bit weights as NF4 codes;
- quantization constants: the absmax values (and their own scales) that NF4 and int8 need;
- adapter weights: LoRA's A and B matrices, kept in fp32 by peft;
- gradients: one per trained value, in that value's dtype;
- optimizer state: AdamW's two moments per trained value;
- activations: the tensors autograd saves in the forward pass for the backward pass;
- temporaries: the logits-sized buffers alive while the loss is backpropagated.

It works on a ``PretrainedConfig`` alone: the model is built on PyTorch's ``meta`` device, which
records shapes and allocates nothing, so a 70B model costs nothing to estimate.
``measure_peak_memory`` measures what really happened, so every estimate can be checked.
"""
from __future__ import annotations

import contextlib
import gc
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd
import torch
from torch import nn

from . import quant
from .env import device as default_device
from .quant import ABSMAX_BLOCKSIZE, BLOCKSIZE

METHODS = ("full", "lora", "qlora")
OPTIMIZERS = ("adamw", "adamw_fp32", "adamw_8bit", "sgd")
WEIGHT_FORMATS = ("fp32", "bf16", "int8", "nf4", "nf4-dq")
ADAM8_BLOCK = 256  # bitsandbytes' 8-bit AdamW: one fp32 scale per block of state
DEFAULT_LORA_R = 8  # peft's LoraConfig default


def as_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """``torch.bfloat16`` from ``torch.bfloat16``, ``"bfloat16"`` or ``"bf16"``."""
    if isinstance(dtype, torch.dtype):
        return dtype
    found = getattr(torch, {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}.get(dtype, dtype), None)
    if not isinstance(found, torch.dtype):
        raise ValueError(f"{dtype!r} is not a torch dtype")
    return found


def nbytes(dtype: torch.dtype | str) -> int:
    """Bytes per value of a dtype, given as ``torch.bfloat16``, ``"bfloat16"`` or ``"bf16"``."""
    return as_dtype(dtype).itemsize


# ---------------------------------------------------------------- Llama shapes, by name

# Public architecture hyperparameters (hidden size, MLP width, layers, heads, KV heads, vocabulary).
# Small random-initialised shapes for measuring on a laptop; paper-scale ones only to estimate.
LLAMA_SHAPES = {
    "llama-25m": (512, 1376, 6, 8, 8, 8192),
    "llama-100m": (768, 2048, 12, 12, 12, 16384),
    "llama-350m": (1024, 2816, 22, 16, 16, 32000),
    "llama-2-7b": (4096, 11008, 32, 32, 32, 32000),
    "llama-2-13b": (5120, 13824, 40, 40, 40, 32000),
    "llama-65b": (8192, 22016, 80, 64, 64, 32000),  # LLaMA 1, the QLoRA paper's largest model
    "llama-2-70b": (8192, 28672, 80, 64, 8, 32000),
    "gpt3-175b-shaped": (12288, 32768, 96, 96, 96, 50257),  # GPT-3's width and depth in Llama blocks
}


def llama_config(name: str):
    """A ``LlamaConfig`` of one of the ``LLAMA_SHAPES``."""
    from transformers import LlamaConfig

    if name not in LLAMA_SHAPES:
        raise ValueError(f"unknown shape {name!r}; known: {', '.join(LLAMA_SHAPES)}")
    h, f, layers, heads, kv, vocab = LLAMA_SHAPES[name]
    return LlamaConfig(
        hidden_size=h, intermediate_size=f, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv, vocab_size=vocab
    )


# ---------------------------------------------------------------- the model's shape, on the meta device


def meta_model(model_or_config) -> nn.Module:
    """The model itself, or one built from its config on the meta device (no memory, no time)."""
    if isinstance(model_or_config, nn.Module):
        return model_or_config
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(model_or_config)


def block_linears(model: nn.Module) -> dict[str, nn.Module]:
    """The linear layers inside the transformer blocks: what bitsandbytes quantizes and LoRA targets.

    The output layer (``lm_head``) is left out, as transformers' bitsandbytes integration and peft's
    ``"all-linear"`` both leave it out. Quantized layers (bitsandbytes ``Linear4bit``/``Linear8bitLt``)
    are recognised by their ``in_features``/``out_features``.
    """
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    found = {}
    for name, module in model.named_modules():
        if module is head or "lora_" in name or not hasattr(module, "in_features") or not hasattr(module, "out_features"):
            continue
        if isinstance(module, nn.Linear) or type(module).__name__ in {"Linear4bit", "Linear8bitLt"}:
            found[name] = module
    return found


def _targets(linears: dict[str, nn.Module], lora_targets) -> dict[str, nn.Module]:
    if lora_targets is None or lora_targets == "all-linear":
        return linears
    wanted = [lora_targets] if isinstance(lora_targets, str) else list(lora_targets)
    chosen = {n: m for n, m in linears.items() if n.split(".")[-1] in wanted}
    if not chosen:
        raise ValueError(f"lora_targets {wanted} match none of the model's linear layers, e.g. {sorted({n.split('.')[-1] for n in linears})}")
    return chosen


def parameter_count(model: nn.Module) -> int:
    """All parameters once (tied tensors count once), as ``nn.Module.parameters()`` yields them."""
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- weights


def weight_memory(model_or_config, fmt: str | torch.dtype, other_dtype: torch.dtype | str = torch.bfloat16,
                  share_code_tables: bool = True) -> dict[str, int]:
    """Bytes of the weights in ``fmt`` and of the quantization constants that format needs.

    ``fmt`` is a dtype or ``fp32``/``bf16`` (every parameter in that dtype), or ``int8``,
    ``nf4``, ``nf4-dq`` (the block linears quantized, everything else in ``other_dtype``).
    Buffers (such as the rotary embedding's frequencies) count as they are.

    - int8 (LLM.int8, Dettmers et al. 2022, arXiv:2208.07339; bitsandbytes ``Int8Params``): one
      byte per weight plus one fp32 scale per output row.
    - nf4 (QLoRA, Dettmers et al. 2023, arXiv:2305.14314, section 3): half a byte per weight plus an
      fp32 absmax per block of 64, i.e. 4.5 bits per weight.
    - nf4-dq, with double quantization: the absmax as uint8 codes with one fp32 scale per 256
      and one fp32 mean: 4 + 8/64 + 32/(64*256) = 4.127 bits per weight, the paper's figure.
      bitsandbytes also keeps, per layer, the mean (4 bytes) and its own copy of the 16-value and
      256-value code tables (64 + 1024 bytes); the course's loaders share one copy of the tables
      (``quant.share_code_tables``), so they count once unless ``share_code_tables`` is False.
    """
    if isinstance(fmt, torch.dtype) or fmt not in ("int8", "nf4", "nf4-dq"):
        try:
            fmt = as_dtype(fmt)
        except ValueError:
            raise ValueError(f"weight format {fmt!r} is neither a dtype nor one of {WEIGHT_FORMATS}") from None
    model = meta_model(model_or_config)
    total = parameter_count(model)
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    if isinstance(fmt, torch.dtype):
        return {"weights": total * nbytes(fmt) + buffers, "quantization constants": 0}
    linears = block_linears(model)
    quantized = sum(m.in_features * m.out_features for m in linears.values())
    rest = (total - quantized) * nbytes(other_dtype) + buffers
    if fmt == "int8":
        return {"weights": quantized + rest, "quantization constants": sum(4 * m.out_features for m in linears.values())}
    tables = 16 * 4 + (256 * 4 if fmt == "nf4-dq" else 0)
    constants = tables if share_code_tables else tables * len(linears)
    for m in linears.values():
        blocks = math.ceil(m.in_features * m.out_features / BLOCKSIZE)
        if fmt == "nf4":
            constants += 4 * blocks
        else:
            constants += blocks + 4 * math.ceil(blocks / ABSMAX_BLOCKSIZE) + 4
    return {"weights": math.ceil(quantized / 2) + rest, "quantization constants": constants}


def optimizer_bytes(n: int, dtype: torch.dtype | str, optimizer: str) -> int:
    """Optimizer state for ``n`` trained values of ``dtype``.

    From the transformers guide "Model training anatomy" (section "Anatomy of Model's Memory"):
    AdamW keeps two moments per parameter, 8 bytes in fp32; 8-bit AdamW 2 bytes; SGD without
    momentum nothing. ``adamw`` is ``torch.optim.AdamW``, whose moments take the parameter's own
    dtype (4 bytes per value for bf16 weights); ``adamw_fp32`` keeps them in fp32 whatever the
    weights are, as mixed-precision trainers do; ``adamw_8bit`` is bitsandbytes' ``AdamW8bit``
    (1 byte per moment plus an fp32 absmax per block of 256).
    """
    if optimizer == "adamw":
        return 2 * n * nbytes(dtype)
    if optimizer == "adamw_fp32":
        return 2 * n * 4
    if optimizer == "adamw_8bit":
        return 2 * (n + 4 * math.ceil(n / ADAM8_BLOCK))
    if optimizer == "sgd":
        return 0
    raise ValueError(f"optimizer {optimizer!r} is not one of {OPTIMIZERS}")


# ---------------------------------------------------------------- activations


def _shape(config) -> dict[str, int]:
    try:
        h, heads = config.hidden_size, config.num_attention_heads
        return {
            "h": h,
            "f": config.intermediate_size,
            "layers": config.num_hidden_layers,
            "vocab": config.vocab_size,
            "heads": heads,
            "q": heads * (getattr(config, "head_dim", None) or h // heads),
            "kv": getattr(config, "num_key_value_heads", heads) * (getattr(config, "head_dim", None) or h // heads),
        }
    except AttributeError as e:
        raise ValueError(f"the activation estimate needs a Llama-shaped config (hidden_size, intermediate_size, ...): {e}") from None


# Which tensor each linear layer of a Llama block reads.
LORA_INPUT = {
    "q_proj": "attention input", "k_proj": "attention input", "v_proj": "attention input", "o_proj": "attention output",
    "gate_proj": "MLP input", "up_proj": "MLP input", "down_proj": "down_proj input",
}


def layer_activation_bytes(config, method: str, dtype: torch.dtype | str, targets: set[str], lora_r: int) -> float:
    """Bytes autograd saves per token in one Llama decoder layer (SDPA attention, no padding mask).

    The method follows Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
    Transformer Models" (arXiv:2205.05198, section 4.1): list each tensor an op keeps for its
    backward pass. Here the list is transformers' ``LlamaDecoderLayer``, checked tensor by tensor
    with ``torch.autograd.graph.saved_tensors_hooks`` in ``tests/test_memory.py``:

    - each RMSNorm keeps its input upcast to fp32 (4h bytes); when its weight trains, also the
      normalised input (h values);
    - SDPA keeps q, k, v and its output (2q + 2kv values); the output is also o_proj's input;
    - the SwiGLU MLP keeps gate, silu(gate) and up (3f values);
    - a linear layer whose weight trains keeps its input: the attention input (h), the MLP input
      (h) and down_proj's input (f), once each however many layers read them;
    - a LoRA layer keeps its input in the adapter's fp32: the same tensor when activations are fp32,
      otherwise a copy per adapted layer (peft casts per layer), and A's output (r values, fp32).
    """
    s, p = _shape(config), nbytes(dtype)
    unknown = set(targets) - set(LORA_INPUT)
    if unknown:
        raise ValueError(f"the activation estimate knows Llama's linear layers {sorted(LORA_INPUT)}, not {sorted(unknown)}")
    size = {"attention input": s["h"], "attention output": s["q"], "MLP input": s["h"], "down_proj input": s["f"]}
    saved = 2 * 4 * s["h"] + (2 * s["q"] + 2 * s["kv"] + 3 * s["f"]) * p + (s["heads"] + 2) * 4  # norms, SDPA, MLP, logsumexp + rsqrt
    if method == "full":
        return saved + 2 * s["h"] * p + (size["attention input"] + size["MLP input"] + size["down_proj input"]) * p
    if p == 4:  # the layers' own inputs: one tensor per distinct input, and SDPA already keeps its output
        saved += 4 * sum(size[i] for i in {LORA_INPUT[t] for t in targets} - {"attention output"})
    else:
        saved += 4 * sum(size[LORA_INPUT[t]] for t in targets)
    return saved + 4 * lora_r * len(targets)


def activation_bytes(
    config, method: str, dtype: torch.dtype | str, batch_size: int, seq_len: int, targets: set[str], lora_r: int, gradient_checkpointing: bool
) -> dict[str, int]:
    """Saved activations, loss temporaries, and the most of both alive at once, in bytes.

    Layers: ``layer_activation_bytes`` per layer; when the embeddings are frozen, the first
    layer's first RMSNorm has no gradient to pass back and keeps nothing. With gradient
    checkpointing (Chen et al. 2016, arXiv:1604.06174) only each layer's input is kept, and one
    layer's activations exist again while it is recomputed in the backward pass. Head: the rotary
    cos/sin tables (once per sequence), the final RMSNorm (fp32 input, plus its normalised input
    and lm_head's input when they train), the token ids and labels, and the loss, which
    transformers computes in fp32: log-softmax keeps ``vocab`` fp32 values per token, and its
    backward pass holds two more logits-sized fp32 buffers (the temporaries). The backward pass
    starts at the loss, so its peak is everything saved plus the temporaries; with checkpointing,
    the layer being recomputed comes later, when the head's tensors are gone.
    """
    s, p = _shape(config), nbytes(dtype)
    tokens = batch_size * seq_len
    full = method == "full"
    layer = tokens * layer_activation_bytes(config, method, dtype, targets, lora_r)
    per_token = 4 * s["h"] + 4 + (2 * s["h"] * p + 8 if full else 0) + 4 * s["vocab"] + 8
    head = tokens * per_token + 2 * seq_len * (s["q"] // s["heads"]) * p + 4  # + the loss's fp32 normaliser
    temporaries = tokens * 2 * 4 * s["vocab"]
    if gradient_checkpointing:
        inputs = tokens * s["layers"] * s["h"] * p
        return {"activations": inputs + layer + head, "temporaries": temporaries, "peak": inputs + max(head + temporaries, layer)}
    saved = s["layers"] * layer + head - (0 if full else tokens * (4 * s["h"] + 4))
    return {"activations": saved, "temporaries": temporaries, "peak": saved + temporaries}


# ---------------------------------------------------------------- the estimate


@dataclass
class Breakdown:
    """Bytes per component of one training step.

    ``total`` adds every component, the usual back-of-the-envelope figure; ``peak`` is the most
    allocated at one moment: the static part plus whichever is larger, the activations and loss
    temporaries at the start of the backward pass, or the gradients at its end (as the backward
    pass frees activations it creates gradients, so the two never peak together) plus the
    optimizer's own temporaries: PyTorch's per-tensor AdamW holds two copies of the largest
    trained tensor while it computes that tensor's update. (Its ``foreach`` version, the default
    on GPUs, holds a copy of a whole moment instead; ``measure_training_step`` uses per-tensor.)
    """

    weights: int
    quantization_constants: int
    adapter_weights: int
    gradients: int
    optimizer_state: int
    activations: int
    temporaries: int
    peak: int = 0
    parameters: int = 0
    trainable: int = 0
    label: str = ""

    COMPONENTS = ("weights", "quantization_constants", "adapter_weights", "gradients", "optimizer_state", "activations", "temporaries")

    @property
    def total(self) -> int:
        return sum(getattr(self, c) for c in self.COMPONENTS)

    @property
    def static(self) -> int:
        """What stays allocated between steps: weights, constants, adapters and optimizer state."""
        return self.weights + self.quantization_constants + self.adapter_weights + self.optimizer_state

    def components(self) -> dict[str, int]:
        return {c.replace("_", " "): getattr(self, c) for c in self.COMPONENTS}

    def table(self, unit: str = "MB") -> pd.DataFrame:
        scale = {"B": 1, "MB": 1e6, "GB": 1e9}[unit]
        rows = {**self.components(), "total": self.total, "peak": self.peak}
        return pd.DataFrame({unit: {k: v / scale for k, v in rows.items()}, "share": {k: v / self.total for k, v in rows.items()}})

    def __str__(self) -> str:
        unit = "GB" if self.total > 1e9 else "MB"
        head = f"{self.label}: " if self.label else ""
        lines = [f"{head}{self.parameters:,} parameters, {self.trainable:,} trained"]
        lines += [f"  {k:<24}{v:>12.1f} {unit}" for k, v in self.table(unit)[unit].items()]
        return "\n".join(lines)


def estimate_training_memory(
    model_or_config,
    method: str,
    *,
    weight_dtype: torch.dtype | str = torch.bfloat16,
    optimizer: str = "adamw",
    batch_size: int = 1,
    seq_len: int = 512,
    lora_r: int | None = None,
    lora_targets=None,
    gradient_checkpointing: bool = False,
    double_quant: bool = True,
) -> Breakdown:
    """Memory of one training step with AdamW-style optimizers, component by component.

    ``method``: ``"full"`` trains every weight (kept in ``weight_dtype``, gradients and, for
    ``adamw``, moments too); ``"lora"`` freezes them in ``weight_dtype`` and trains rank-``lora_r``
    adapters (peft keeps them in fp32) on ``lora_targets`` (module names such as ``"q_proj"``;
    ``None`` means every linear layer in the blocks, as the QLoRA paper and peft's ``"all-linear"``
    do); ``"qlora"`` is LoRA over NF4 block linears, prepared as peft's
    ``prepare_model_for_kbit_training`` leaves a model: the parameters that stay unquantized
    (embeddings, norms, lm_head) upcast to fp32, so activations are fp32 too; ``weight_dtype`` is
    then the 4-bit layers' compute dtype, which saves nothing extra for backward.

    Sources: weights, gradients and optimizer state per parameter follow the transformers guide
    "Model training anatomy" (4 bytes per fp32 weight and gradient, 8 bytes of AdamW state);
    NF4 with double quantization costs 4.127 bits per weight (QLoRA paper, section 3);
    activations are counted tensor by tensor (``layer_activation_bytes``). The estimate
    assumes SDPA attention without a padding mask, as in transformers' default for Llama.
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {METHODS}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer {optimizer!r} is not one of {OPTIMIZERS}")
    model = meta_model(model_or_config)
    config = model.config
    total = parameter_count(model)
    r = lora_r or DEFAULT_LORA_R

    if method == "full":
        targets, adapters = set(), 0
        weights = weight_memory(model, weight_dtype)
        trainable, train_bytes, act_dtype = total, nbytes(weight_dtype), weight_dtype
        largest = max(p.numel() for p in model.parameters())
    else:
        chosen = _targets(block_linears(model), lora_targets)
        targets = {n.split(".")[-1] for n in chosen}
        adapters = sum(r * (m.in_features + m.out_features) for m in chosen.values())
        trainable, train_bytes = adapters, 4
        largest = r * max(max(m.in_features, m.out_features) for m in chosen.values())
        if method == "lora":
            weights = weight_memory(model, weight_dtype)
            act_dtype = weight_dtype
        else:
            weights = weight_memory(model, "nf4-dq" if double_quant else "nf4", other_dtype=torch.float32)
            act_dtype = torch.float32

    act = activation_bytes(config, method, act_dtype, batch_size, seq_len, targets, r, gradient_checkpointing)
    gradients = trainable * train_bytes
    static = weights["weights"] + weights["quantization constants"] + adapters * 4
    optimizer_state = optimizer_bytes(trainable, torch.float32 if method != "full" else weight_dtype, optimizer)
    return Breakdown(
        weights=weights["weights"],
        quantization_constants=weights["quantization constants"],
        adapter_weights=adapters * 4,
        gradients=gradients,
        optimizer_state=optimizer_state,
        activations=act["activations"],
        temporaries=act["temporaries"],
        peak=static + optimizer_state + max(act["peak"], gradients + 2 * largest * train_bytes),
        parameters=total + adapters,
        trainable=trainable,
        label=method,
    )


# ---------------------------------------------------------------- measurement


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


def bnb_config(fmt: str, compute_dtype: torch.dtype = torch.bfloat16):
    """The ``BitsAndBytesConfig`` for a weight format (``None`` for fp32/bf16)."""
    from transformers import BitsAndBytesConfig

    if fmt in ("fp32", "bf16"):
        return None
    if fmt == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    if fmt in ("nf4", "nf4-dq"):
        return BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=fmt == "nf4-dq", bnb_4bit_compute_dtype=compute_dtype
        )
    raise ValueError(f"weight format {fmt!r} is not one of {WEIGHT_FORMATS}")


def pretrained_loader(path, fmt: str, device: str | None = None, compute_dtype: torch.dtype | None = None,
                      share_code_tables: bool = True) -> Callable[[], nn.Module]:
    """A function that loads the checkpoint at ``path`` in weight format ``fmt`` onto ``device``.

    Unquantized parts load in bf16 (fp32 for ``fp32``). 4-bit layers compute in ``compute_dtype``:
    by default bf16 on a GPU and fp32 on a CPU, where bf16 matrix products are often emulated and
    several times slower; the memory a step keeps does not depend on it (see
    ``estimate_training_memory``). Loading runs on the calling thread
    (``HF_DEACTIVATE_ASYNC_LOAD``): transformers otherwise fills tensors from a thread pool,
    where the CPU measurement of ``measure_peak_memory`` cannot see the allocations. On CPU,
    transformers maps the checkpoint file into memory and leaves the tensors that need no
    conversion pointing into it, which keeps the whole mapping alive (the bytes of the
    quantized originals included) as long as one of them lives; each unquantized tensor is
    therefore copied into memory of its own, so that the model holds exactly its tensors.
    4-bit layers then share one copy of bitsandbytes' code tables (``quant.share_code_tables``)
    unless ``share_code_tables`` is False, and keep QLoRA's storage on every CPU
    (``quant.keep_qlora_layout``).
    """
    from transformers import AutoModelForCausalLM

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
            dtype = torch.float32 if fmt == "fp32" else torch.bfloat16
            model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, quantization_config=bnb_config(fmt, compute_dtype), device_map=device)
        finally:
            if before is None:
                del os.environ["HF_DEACTIVATE_ASYNC_LOAD"]
            else:
                os.environ["HF_DEACTIVATE_ASYNC_LOAD"] = before
        for t in [*model.parameters(), *model.buffers()]:
            if t.device.type == "cpu" and t.is_floating_point():
                t.data = t.data.clone()
        if share_code_tables:
            quant.share_code_tables(model)
        quant.keep_qlora_layout(model)
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
    import time

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
