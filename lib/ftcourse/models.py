"""Loading a model by name: the course's own by default, any Hugging Face model otherwise.

The course model lives in this package (``COURSE_MODEL_DIR``) in the same files
a hub model has, so ``load`` is a thin layer over ``from_pretrained`` that adds
what the notebooks want everywhere: a device, a dtype, optional bitsandbytes
quantization, and an error that says what to do when a name cannot be found
offline.
"""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
from transformers.utils import logging as hf_logging

from .env import device as default_device

# peft 0.21 reads a property that transformers 5 deprecated; the warning says nothing a learner can act on.
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)

COURSE_MODEL = "course-base"
COURSE_MODEL_DIR = Path(__file__).resolve().parent / "assets" / COURSE_MODEL
QUANTIZATIONS = (None, "int8", "nf4")


class ModelNotFound(OSError):
    pass


@contextlib.contextmanager
def no_progress_bars():
    """A weights bar for a 17 MB model is noise; turn transformers' bars off, then back to how they were."""
    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def quantization_config(quantization: str | None, compute_dtype: torch.dtype = torch.float32,
                        double_quant: bool = True) -> BitsAndBytesConfig | None:
    """The ``BitsAndBytesConfig`` of ``quantization`` (None, ``"int8"`` or ``"nf4"``); ``None`` for none.

    ``"nf4"`` is QLoRA's recipe: NF4 weights, with double-quantized constants unless ``double_quant``
    is False, computing in ``compute_dtype``.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, not {quantization!r}")
    if quantization is None:
        return None
    if quantization == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=double_quant,
                              bnb_4bit_compute_dtype=compute_dtype)


def load(name: str | Path = COURSE_MODEL, *, dtype: torch.dtype | str | None = None,
         quantization: str | None = None, device: str = "auto", **options):
    """``(model, tokenizer)`` for the course model, a local folder, or a hub id.

    ``dtype`` defaults to the weights' own (fp32 for the course model; fp16 around int8 weights);
    ``quantization`` is None, ``"int8"`` or ``"nf4"`` (NF4 with double quantization, its 4-bit
    layers sharing one copy of the code tables, ``share_code_tables``, and keeping that storage
    on every CPU, ``keep_qlora_layout``); ``device="auto"`` picks the GPU when there is one.
    ``options`` go to ``load_model``.
    """
    with _found(name) as source, no_progress_bars():
        tokenizer = AutoTokenizer.from_pretrained(source)
    return load_model(name, dtype=dtype, quantization=quantization, device=device, **options), tokenizer


def load_model(name: str | Path = COURSE_MODEL, *, dtype: torch.dtype | str | None = None,
               quantization: str | None = None, device: str = "auto", double_quant: bool = True,
               compute_dtype: torch.dtype | None = None, share_tables: bool = True) -> torch.nn.Module:
    """The model of ``load`` without its tokenizer, in eval mode.

    ``double_quant=False`` keeps NF4's absmax in fp32; ``compute_dtype`` is what 4-bit layers
    compute in (default: ``dtype``, else fp32); ``share_tables=False`` leaves each 4-bit layer its
    own copy of the code tables, as bitsandbytes does.
    """
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    target = default_device() if device == "auto" else device
    if quantization == "int8" and dtype is None:
        dtype = torch.float16  # bitsandbytes' int8 matmul takes fp16 inputs (and warns on every call otherwise)
    quantized = quantization_config(quantization, compute_dtype or dtype or torch.float32, double_quant)
    kwargs = {"dtype": dtype} if dtype is not None else {}
    if quantized is not None:
        kwargs |= {"quantization_config": quantized, "device_map": {"": target}}
    with _found(name) as source, no_progress_bars():
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    if quantized is None:
        model.to(target)
    else:
        if share_tables:
            share_code_tables(model)  # NF4 layers only; int8 layers hold no code table
        keep_qlora_layout(model)
    return model.eval()


@contextlib.contextmanager
def _found(name: str | Path):
    """The folder or hub id ``name`` stands for; a name that is neither becomes an error that says what to do."""
    source = COURSE_MODEL_DIR if str(name) == COURSE_MODEL else name
    try:
        yield source
    except OSError:
        if Path(source).exists():
            raise
        raise ModelNotFound(
            f"No model named {str(name)!r} here: it is not a folder on this machine and the Hugging Face Hub "
            "cannot be reached, so connect to the internet to download a hub id, or pass the path of a local "
            "model folder (or 'course-base')."
        ) from None


def share_code_tables(model: torch.nn.Module) -> int:
    """Point every 4-bit layer of a bitsandbytes model at one copy of each code table; returns bytes freed.

    bitsandbytes gives each layer's ``quant_state`` its own copy of the 16-value NF4 table and,
    with double quantization, of the 256-value table its absmax codes index: 1,088 bytes a layer,
    identical in every layer. That is noise on a 4096 x 4096 matrix but 0.017 bytes per weight on
    a 256 x 256 one. Layers keep their own table where it differs from the first one seen.
    """
    shared: dict[tuple, torch.Tensor] = {}
    freed = 0
    for module in model.modules():
        state = getattr(getattr(module, "weight", None), "quant_state", None)
        for holder in (state, getattr(state, "state2", None)):
            code = getattr(holder, "code", None)
            if code is None:
                continue
            key = (code.numel(), code.dtype, code.device)
            first = shared.setdefault(key, code)
            if first.data_ptr() != code.data_ptr() and torch.equal(first, code):
                holder.code = first
                freed += code.numel() * code.element_size()
    return freed


def keep_qlora_layout(model: torch.nn.Module) -> int:
    """Keep every 4-bit layer in QLoRA's storage (double-quantized absmax) through inference; returns layers kept.

    Otherwise, on some CPUs, bitsandbytes repacks a layer at its first inference pass, and bytes and
    outputs would depend on the learner's CPU (the test of this in tests/test_models.py says how).
    """
    kept = 0
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
            kept += 1
    return kept
