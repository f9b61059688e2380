"""LoRA adapter files: save, load and swap the A and B matrices; convert to and from peft.

Ours is one safetensors file: tensors named ``"<module path>.lora_A"`` / ``".lora_B"``, the
settings (r, alpha, dropout, target module paths) in the file's metadata. peft's is a folder with
``adapter_config.json`` and ``adapter_model.safetensors``, tensors named
``"base_model.model.<module path>.lora_A.weight"``; ``to_peft`` and ``from_peft`` convert, so
``PeftModel.from_pretrained`` loads ours.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .lora import PARAMS, add_lora, lora_layers

FORMAT = "ftcourse-lora"
PEFT_PREFIX = "base_model.model."


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapter: the A and B tensors of every LoRA layer, by parameter path."""
    return {k: v for k, v in model.state_dict().items() if k.endswith(tuple("." + p for p in PARAMS))}


class AdapterSettings(NamedTuple):
    r: int
    alpha: float
    dropout: float
    target_modules: list[str]  # full module paths


def _settings(model: nn.Module) -> AdapterSettings:
    layers = lora_layers(model)
    if not layers:
        raise ValueError("the model has no LoRA layers: call add_lora (or load_adapter) first")
    distinct = {(m.r, m.alpha, m.dropout_p) for m in layers.values()}
    if len(distinct) > 1:
        raise ValueError(f"one adapter file holds one (r, alpha, dropout), but these layers use {sorted(distinct)}")
    r, alpha, dropout = distinct.pop()
    return AdapterSettings(r, alpha, dropout, sorted(layers))


def _write(path: str | os.PathLike, settings: AdapterSettings, tensors: dict[str, torch.Tensor]) -> Path:
    metadata = {"format": FORMAT, **{k: json.dumps(v) for k, v in settings._asdict().items()}}
    save_file({k: v.contiguous() for k, v in tensors.items()}, Path(path), metadata=metadata)
    return Path(path)


def save_adapter(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write the model's adapter (A, B and its settings) to one safetensors file."""
    return _write(path, _settings(model), lora_state_dict(model))


def read_adapter(path: str | os.PathLike) -> tuple[AdapterSettings, dict[str, torch.Tensor]]:
    """The settings and tensors of an adapter file written by `save_adapter`."""
    path = Path(path)
    with safe_open(path, "pt") as f:
        metadata = f.metadata() or {}
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path}: not an ftcourse LoRA adapter (metadata field 'format' is {metadata.get('format')!r})")
    values = {}
    for field in AdapterSettings._fields:
        try:
            values[field] = json.loads(metadata[field])
        except (KeyError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: metadata field {field!r} is missing or not JSON ({e})") from None
    return AdapterSettings(**values), load_file(path)


def load_adapter(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load an adapter file into ``model``: adds the LoRA layers if it has none, else replaces their A and B.

    Swapping adapters on one base is this call, once per adapter: W is never touched.
    """
    path = Path(path)
    settings, tensors = read_adapter(path)
    layers = lora_layers(model)
    if not layers:
        add_lora(model, settings.target_modules, settings.r, settings.alpha, settings.dropout)
        layers = lora_layers(model)
    for field, have in _settings(model)._asdict().items():
        if have != getattr(settings, field):
            raise ValueError(f"{path}: the adapter's {field} is {getattr(settings, field)!r} but the model's LoRA layers have {have!r}")
    if merged := [n for n, m in layers.items() if m.merged]:
        raise RuntimeError(f"unmerge the model's LoRA layers before loading {path} into them (merged: {merged[:3]}...)")
    expected = {f"{n}.{p}": getattr(m, p) for n, m in layers.items() for p in PARAMS}
    if missing := sorted(expected.keys() - tensors.keys()):
        raise ValueError(f"{path}: no tensor for {missing[:3]} ({len(missing)} missing)")
    if extra := sorted(tensors.keys() - expected.keys()):
        raise ValueError(f"{path}: tensors {extra[:3]} match no LoRA layer of the model ({len(extra)} extra)")
    for key, t in tensors.items():
        if t.shape != expected[key].shape:
            raise ValueError(f"{path}: tensor {key} has shape {tuple(t.shape)}, the model needs {tuple(expected[key].shape)}")
    model.load_state_dict(tensors, strict=False)
    return model


def to_peft(path: str | os.PathLike, directory: str | os.PathLike, base_model_name_or_path: str | None = None) -> Path:
    """Convert an adapter file of ours to a peft adapter folder that ``PeftModel.from_pretrained`` loads."""
    from peft import LoraConfig

    settings, tensors = read_adapter(path)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules,
        base_model_name_or_path=base_model_name_or_path,
    ).save_pretrained(directory)
    peft_tensors = {f"{PEFT_PREFIX}{k}.weight": v for k, v in tensors.items()}
    save_file(peft_tensors, directory / "adapter_model.safetensors", metadata={"format": "pt"})
    return directory


# peft options that change what A and B mean; an adapter using one cannot become plain LoRA.
_PEFT_UNSUPPORTED = {
    "use_rslora": False, "use_dora": False, "fan_in_fan_out": False, "lora_bias": False, "bias": "none",
    "rank_pattern": {}, "alpha_pattern": {}, "modules_to_save": None,
}


def from_peft(directory: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Convert a peft LoRA adapter folder to an adapter file of ours."""
    directory = Path(directory)
    config_file, weights_file = directory / "adapter_config.json", directory / "adapter_model.safetensors"
    for f in (config_file, weights_file):
        if not f.is_file():
            raise FileNotFoundError(f"{f} not found: a peft adapter folder holds adapter_config.json and adapter_model.safetensors")
    config = json.loads(config_file.read_text())
    if config.get("peft_type") != "LORA":
        raise ValueError(f"{config_file}: field 'peft_type' is {config.get('peft_type')!r}, not 'LORA'")
    for field, plain in _PEFT_UNSUPPORTED.items():
        if config.get(field) not in (plain, None):
            raise ValueError(f"{config_file}: field {field!r} is {config[field]!r}; only plain LoRA ({field}={plain!r}) converts")
    tensors = {}
    for key, t in load_file(weights_file).items():
        name = key.removeprefix(PEFT_PREFIX).removesuffix(".weight")
        if not key.startswith(PEFT_PREFIX) or not name.endswith(tuple("." + p for p in PARAMS)):
            raise ValueError(f"{weights_file}: tensor {key!r} is not a LoRA A or B weight")
        tensors[name] = t
    targets = sorted({k.rpartition(".")[0] for k in tensors})
    return _write(path, AdapterSettings(config["r"], config["lora_alpha"], config.get("lora_dropout", 0.0), targets), tensors)
