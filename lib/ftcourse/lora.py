"""LoRA: freeze a layer's weight W and learn a low-rank update beside it.

A fine-tune rarely needs to move W in every direction: the change it makes is
close to low rank. So LoRA keeps W frozen and trains two thin matrices,
A (r x in) and B (out x r), and the layer computes

    y = W x + b + (alpha / r) * B A x

B starts at zero, so at step 0 the model is exactly the base model; A starts
random (as peft does by default), so the gradient of B is not zero and
training can move. After training, B A can be added into W once ("merged"),
and the layer costs nothing extra at inference; kept apart, the few A and B
tensors are a small adapter file that can be swapped on one shared base.

This is the course's reference implementation. It matches peft's LoRA layer
output for output, and `to_peft` / `from_peft` convert adapter files between
this module's format and peft's, so `PeftModel.from_pretrained` loads ours.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

FORMAT = "ftcourse-lora"
PEFT_PREFIX = "base_model.model."
PARAMS = ("lora_A", "lora_B")


class LoRALinear(nn.Module):
    """An ``nn.Linear`` whose weight and bias are frozen, plus a trainable low-rank update."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0) -> None:
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, not {type(base).__name__}")
        if type(r) is not int or r < 1:
            raise ValueError(f"rank r must be a positive int, got {r!r}")
        super().__init__()
        self.base = base
        self.r = r
        self.alpha = alpha
        self.scaling = alpha / r
        for p in base.parameters():
            p.requires_grad_(False)
        # Dropout regularises the update only: W x always sees the clean input.
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        # A as peft (and nn.Linear) initialise a weight: uniform in +-1/sqrt(in).
        # B at zero, so the update B A starts at exactly nothing.
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, **factory))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, **factory))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.merged = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base(x)
        if self.merged:
            return result
        # In place: two fewer full-size temporaries, and neither backward needs the old values.
        return result.add_(F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B).mul_(self.scaling))

    def delta_weight(self) -> torch.Tensor:
        """The update LoRA adds to W, as a full (out x in) matrix."""
        return self.lora_B @ self.lora_A * self.scaling

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into W: the layer then runs as fast as the plain Linear."""
        if self.merged:
            raise RuntimeError("this LoRA layer is already merged; merging again would add the update twice")
        self.base.weight += self.delta_weight()
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update back out of W, e.g. to keep training or to swap adapters."""
        if not self.merged:
            raise RuntimeError("this LoRA layer is not merged; there is nothing to take out of W")
        self.base.weight -= self.delta_weight()
        self.merged = False

    @property
    def dropout_p(self) -> float:
        return self.dropout.p if isinstance(self.dropout, nn.Dropout) else 0.0

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}, dropout={self.dropout_p}, merged={self.merged}"


# Injecting into a model ---------------------------------------------------------------


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """Every LoRA layer of ``model``, by module path."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def matches(name: str, targets: list[str]) -> bool:
    """peft's rule for a list of targets: the module's path is a target or ends with ``"." + target``."""
    return any(name == t or name.endswith("." + t) for t in targets)


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, module)


def add_lora(
    model: nn.Module, target_modules: str | Iterable[str], r: int, alpha: float, dropout: float = 0.0
) -> nn.Module:
    """Wrap, in place, each ``nn.Linear`` named by ``target_modules`` and freeze everything else.

    A target matches a module whose path equals it or ends with ``"." + target``
    (``"q_proj"`` hits every layer's query projection), as in peft.
    """
    targets = [target_modules] if isinstance(target_modules, str) else list(target_modules)
    if lora_layers(model):
        raise ValueError("this model already has LoRA layers; load_adapter into it, or merge_lora it first")
    found = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear) and matches(n, targets)}
    if not found:
        names = sorted({n.rpartition(".")[2] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
        raise ValueError(f"no nn.Linear in {type(model).__name__} matches {targets}; its Linear layers are named {names}")
    for name, linear in found.items():
        _replace(model, name, LoRALinear(linear, r, alpha, dropout))
    mark_only_lora_trainable(model)
    return model


def mark_only_lora_trainable(model: nn.Module) -> None:
    """Freeze every parameter but the LoRA A and B: embeddings, norms and heads included."""
    model.requires_grad_(False)
    for layer in lora_layers(model).values():
        layer.lora_A.requires_grad_(True)
        layer.lora_B.requires_grad_(True)


class ParameterCount(NamedTuple):
    trainable: int
    total: int

    @property
    def percent(self) -> float:
        return 100 * self.trainable / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"trainable: {self.trainable:,} of {self.total:,} parameters ({self.percent:.2f}%)"


def trainable_parameters(model: nn.Module) -> ParameterCount:
    """How many of the model's parameters the optimizer will update, out of all of them (shared ones once)."""
    params = list(model.parameters())
    return ParameterCount(sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params))


def merge_lora(model: nn.Module) -> nn.Module:
    """Merge every LoRA layer and put its plain ``nn.Linear`` back: the returned model has no LoRA left.

    Works in place; the base weights now hold W + B A, so keep the adapter file if you want them apart again.
    """
    for name, layer in lora_layers(model).items():
        if not layer.merged:
            layer.merge()
        _replace(model, name, layer.base)
    return model


# Adapter files ------------------------------------------------------------------------
# Ours: one safetensors file, tensors named "<module path>.lora_A" / ".lora_B", the
# settings (r, alpha, dropout, target module paths) in the file's metadata.
# peft's: a folder with adapter_config.json and adapter_model.safetensors, tensors named
# "base_model.model.<module path>.lora_A.weight".


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
