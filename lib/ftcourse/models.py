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
from .quant import keep_qlora_layout, share_code_tables

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


def _quantization_config(quantization: str | None, dtype: torch.dtype | None) -> BitsAndBytesConfig | None:
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, not {quantization!r}")
    if quantization is None:
        return None
    from .memory import bnb_config

    # "nf4" is QLoRA's recipe: NF4 weights with double-quantized constants.
    return bnb_config("int8" if quantization == "int8" else "nf4-dq", compute_dtype=dtype or torch.float32)


def load(name: str | Path = COURSE_MODEL, *, dtype: torch.dtype | str | None = None,
         quantization: str | None = None, device: str = "auto"):
    """``(model, tokenizer)`` for the course model, a local folder, or a hub id.

    ``dtype`` defaults to the weights' own (fp32 for the course model; fp16 around int8 weights);
    ``quantization`` is None, ``"int8"`` or ``"nf4"`` (NF4 with double quantization, its 4-bit
    layers sharing one copy of the code tables, ``quant.share_code_tables``, and keeping that
    storage on every CPU, ``quant.keep_qlora_layout``); ``device="auto"``
    picks the GPU when there is one.
    """
    source = COURSE_MODEL_DIR if str(name) == COURSE_MODEL else name
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    target = default_device() if device == "auto" else device
    if quantization == "int8" and dtype is None:
        dtype = torch.float16  # bitsandbytes' int8 matmul takes fp16 inputs (and warns on every call otherwise)
    quantized = _quantization_config(quantization, dtype)
    kwargs = {"dtype": dtype} if dtype is not None else {}
    if quantized is not None:
        kwargs |= {"quantization_config": quantized, "device_map": {"": target}}
    try:
        with no_progress_bars():
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError:
        if Path(source).exists():
            raise
        raise ModelNotFound(
            f"No model named {str(name)!r} here: it is not a folder on this machine and the Hugging Face Hub "
            "cannot be reached, so connect to the internet to download a hub id, or pass the path of a local "
            "model folder (or 'course-base')."
        ) from None
    if quantized is None:
        model.to(target)
    else:
        share_code_tables(model)  # NF4 layers only; int8 layers hold no code table
        keep_qlora_layout(model)
    return model.eval(), tokenizer
