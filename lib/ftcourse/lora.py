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

This is the course's reference implementation: the layer and its injection into
a model. It matches peft's LoRA layer output for output; adapter files (and their
conversion to and from peft's) are ``ftcourse.adapters``.

The course uses this module where it teaches LoRA (notebook 04 and the adapters
there) and peft where it shows the ecosystem or measures what practitioners run:
QLoRA and the memory measurements of notebook 05 (``measure``, over bitsandbytes'
4-bit layers, which this layer does not wrap), the base model's behaviour-gap
fine-tunes in its model card, and the tests that hold this module to peft.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

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
        return result + F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B) * self.scaling

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
        raise ValueError("this model already has LoRA layers; adapters.load_adapter into it, or merge_lora it first")
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
