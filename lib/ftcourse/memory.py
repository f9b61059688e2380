"""Training memory of full fine-tuning, LoRA and QLoRA, estimated from a model's config.

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
``ftcourse.measure`` measures what really happens, so every estimate can be checked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from .lora import matches
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

# The linear layers of a Llama block, by module name: what LoRA targets and bitsandbytes quantizes.
LLAMA_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

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
# The reference models, from the published config.json files of Llama 2: llama_config(name) builds each.
LLAMA_2 = ("llama-2-7b", "llama-2-13b", "llama-2-70b")


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
    chosen = {n: m for n, m in linears.items() if matches(n, wanted)}
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
      256-value code tables (64 + 1024 bytes); the course's loader shares one copy of the tables
      (``models.share_code_tables``), so they count once unless ``share_code_tables`` is False.
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
LORA_INPUT = dict(zip(LLAMA_PROJECTIONS, ("attention input", "attention input", "attention input", "attention output",
                                          "MLP input", "MLP input", "down_proj input")))


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
    on GPUs, holds a copy of a whole moment instead; ``measure.measure_training_step`` uses per-tensor.)
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
