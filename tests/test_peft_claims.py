"""Every "as peft does" in notebook 04, checked against the peft that is installed.

The notebook's exercises and its prose make claims about peft's behaviour; peft changes
between releases, so each claim is a test here and fails the day it stops being true.
"""
import math
import warnings

import pytest
import torch
from peft import LoraConfig, get_peft_model
from peft.tuners.lora import Linear as PeftLinear
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from ftcourse import lora


def peft_linear(base, r=4, alpha=8, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PeftLinear(base, "default", config=LoraConfig(r=r, lora_alpha=alpha, **options), r=r, lora_alpha=alpha, **options)


def kaiming(shape):
    t = torch.empty(shape)
    nn.init.kaiming_uniform_(t, a=math.sqrt(5))
    return t


def test_peft_initialises_A_like_nn_linear_and_B_at_zero():
    """Exercise 1: A is kaiming_uniform_(a=sqrt(5)), the rule nn.Linear uses, drawn first by peft's initialiser; B is zero."""
    layer = peft_linear(nn.Linear(48, 24))
    torch.manual_seed(11)
    layer.reset_lora_parameters("default", True)
    torch.manual_seed(11)
    assert torch.equal(layer.lora_A["default"].weight.detach(), kaiming((4, 48)))
    assert torch.equal(layer.lora_B["default"].weight.detach(), torch.zeros(24, 4))
    torch.manual_seed(11)
    drawn = kaiming((4, 48))
    torch.manual_seed(11)
    assert torch.equal(drawn, nn.Linear(48, 4, bias=False).weight.detach())


def test_a_peft_layer_built_after_a_seed_holds_its_third_draw():
    """Exercise 1's note: building the layer draws twice (A and B as nn.Linear) before A is re-initialised."""
    base = nn.Linear(48, 24)
    torch.manual_seed(11)
    layer = peft_linear(base)
    torch.manual_seed(11)
    first, second, third = kaiming((4, 48)), kaiming((24, 4)), kaiming((4, 48))
    assert torch.equal(layer.lora_A["default"].weight.detach(), third)
    assert not torch.equal(layer.lora_A["default"].weight.detach(), first)


def test_peft_applies_dropout_to_the_input_of_the_lora_branch_only():
    """Exercise 2: result = base(x) + B(A(dropout(x))) * alpha / r."""
    base = nn.Linear(12, 6)
    layer = peft_linear(base, r=4, alpha=12, lora_dropout=0.5).train()
    with torch.no_grad():
        layer.lora_B["default"].weight.normal_()
    A, B = layer.lora_A["default"].weight.detach(), layer.lora_B["default"].weight.detach()
    x = torch.randn(3, 12)
    torch.manual_seed(5)
    with torch.no_grad():
        got = layer(x)
    torch.manual_seed(5)
    expected = base(x) + nn.functional.dropout(x, 0.5, training=True) @ A.T @ B.T * 3.0
    assert torch.allclose(got, expected.detach(), atol=1e-5)


def test_peft_matches_targets_by_the_whole_last_names():
    """Exercise 5: 'proj' names a module called proj, and does not catch q_proj."""

    class Named(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(4, 4)
            self.q_proj = nn.Linear(4, 4)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(Named(), LoraConfig(r=2, lora_alpha=2, target_modules=["proj"]))
    wrapped = sorted(n for n, m in model.named_modules() if isinstance(m, PeftLinear))
    assert wrapped == ["base_model.model.proj"]


def test_our_injection_trains_what_peft_trains_and_computes_what_peft_computes():
    """Section 'From your layer to the course's': the library's add_lora and to_peft agree with peft."""
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    torch.manual_seed(0)
    base = LlamaForCausalLM(config).eval()
    ours = lora.add_lora(LlamaForCausalLM(config), targets, r=3, alpha=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=3, lora_alpha=6, target_modules=targets))
    assert lora.trainable_parameters(ours).trainable == theirs.get_nb_trainable_parameters()[0]
    assert lora.trainable_parameters(base).total == theirs.get_nb_trainable_parameters()[1] - lora.trainable_parameters(ours).trainable


@pytest.mark.parametrize("r", [4, 16, 64])
def test_rslora_scales_by_alpha_over_the_square_root_of_r(r):
    """Section 'Choosing r and alpha': use_rslora=True scales by alpha / sqrt(r), the default by alpha / r."""
    assert peft_linear(nn.Linear(8, 8), r=r, alpha=16, use_rslora=True).scaling["default"] == pytest.approx(16 / math.sqrt(r))
    assert peft_linear(nn.Linear(8, 8), r=r, alpha=16).scaling["default"] == pytest.approx(16 / r)
