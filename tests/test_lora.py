"""ftcourse.lora against peft itself: same init, same outputs, same merge; ftcourse.adapters' files convert both ways."""
import copy
import json
import warnings

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import Linear as PeftLoraLinear
from safetensors.torch import save_file
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from ftcourse.adapters import from_peft, load_adapter, lora_state_dict, read_adapter, save_adapter, to_peft
from ftcourse.lora import (
    LoRALinear,
    ParameterCount,
    add_lora,
    lora_layers,
    mark_only_lora_trainable,
    merge_lora,
    trainable_parameters,
)

TARGETS = ["q_proj", "v_proj"]
R, ALPHA = 4, 12  # alpha != r and alpha/r != 1, so a wrong scaling cannot pass unnoticed


def tiny_llama(seed=0):
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
    )
    return LlamaForCausalLM(config).eval()


def peft_model(model, dropout=0.0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_peft_model(model, LoraConfig(r=R, lora_alpha=ALPHA, lora_dropout=dropout, target_modules=TARGETS))


def randomize_lora(model, seed=1):
    """Non-zero A and B everywhere (B is zero after init, which would hide every bug in the update)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)


def copy_peft_into_ours(peft, ours):
    """Give our LoRA layers exactly the A and B of peft's."""
    theirs = {k.removeprefix("base_model.model.").replace(".default.weight", ""): v for k, v in peft.state_dict().items() if "lora_" in k}
    assert theirs.keys() == lora_state_dict(ours).keys()
    ours.load_state_dict(theirs, strict=False)


def peft_layer(base, dropout=0.0):
    return PeftLoraLinear(base, "default", config=LoraConfig(r=R, lora_alpha=ALPHA, lora_dropout=dropout), r=R, lora_alpha=ALPHA)


def tokens(seed=0):
    return torch.randint(0, 64, (2, 10), generator=torch.Generator().manual_seed(seed))


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


# The layer ---------------------------------------------------------------------------


def test_a_is_initialised_by_peft_default_rule_and_b_is_zero():
    base = nn.Linear(48, 24)
    theirs = peft_layer(copy.deepcopy(base))
    torch.manual_seed(7)
    theirs.reset_lora_parameters("default", True)  # peft's default init, drawn from a known seed
    torch.manual_seed(7)
    ours = LoRALinear(copy.deepcopy(base), R, ALPHA)
    assert torch.equal(ours.lora_A, theirs.lora_A["default"].weight)
    assert torch.equal(ours.lora_B, torch.zeros(24, R))
    assert ours.lora_A.abs().max() <= 1 / 48**0.5  # kaiming_uniform(a=sqrt(5)) bound, as nn.Linear's weight


def test_forward_equals_peft_with_the_same_a_and_b():
    base = nn.Linear(48, 24)
    theirs, ours = peft_layer(copy.deepcopy(base)), LoRALinear(copy.deepcopy(base), R, ALPHA)
    with torch.no_grad():
        theirs.lora_A["default"].weight.normal_()
        theirs.lora_B["default"].weight.normal_()
        ours.lora_A.copy_(theirs.lora_A["default"].weight)
        ours.lora_B.copy_(theirs.lora_B["default"].weight)
    x = torch.randn(3, 5, 48)
    expected = theirs(x)
    torch.testing.assert_close(ours(x), expected, atol=1e-6, rtol=0)
    assert not torch.allclose(expected, base(x), atol=1e-3), "the update must matter, or this test proves nothing"
    assert ours.scaling == ALPHA / R == theirs.scaling["default"]


def test_output_equals_the_base_at_initialisation():
    base = nn.Linear(16, 8)
    x = torch.randn(4, 16)
    assert torch.equal(LoRALinear(copy.deepcopy(base), R, ALPHA)(x), base(x))


def test_dropout_applies_to_the_lora_input_only_exactly_as_peft():
    base = nn.Linear(32, 16)
    theirs, ours = peft_layer(copy.deepcopy(base), dropout=0.5), LoRALinear(copy.deepcopy(base), R, ALPHA, dropout=0.5)
    theirs.train(), ours.train()
    x = torch.randn(8, 32)
    # With B = 0 nothing of the LoRA branch reaches the output: a clean W x even in training mode.
    assert torch.equal(ours(x), base(x))
    with torch.no_grad():
        theirs.lora_B["default"].weight.normal_()
        ours.lora_A.copy_(theirs.lora_A["default"].weight)
        ours.lora_B.copy_(theirs.lora_B["default"].weight)
    torch.manual_seed(3)
    expected = theirs(x)
    torch.manual_seed(3)  # the same dropout mask
    torch.testing.assert_close(ours(x), expected, atol=1e-6, rtol=0)
    ours.eval()
    torch.testing.assert_close(ours(x), base(x) + x @ ours.delta_weight().T, atol=1e-5, rtol=0)


def test_only_a_and_b_receive_gradients():
    layer = LoRALinear(nn.Linear(16, 8), R, ALPHA)
    layer(torch.randn(4, 16)).sum().backward()
    assert layer.base.weight.grad is None and layer.base.bias.grad is None
    assert layer.lora_B.grad is not None and layer.lora_B.grad.abs().sum() > 0
    assert [n for n, p in layer.named_parameters() if p.requires_grad] == ["lora_A", "lora_B"]


def test_merge_equals_peft_and_unmerge_restores_w():
    base = nn.Linear(48, 24)
    theirs, ours = peft_layer(copy.deepcopy(base)), LoRALinear(copy.deepcopy(base), R, ALPHA)
    with torch.no_grad():
        theirs.lora_B["default"].weight.normal_()
        ours.lora_A.copy_(theirs.lora_A["default"].weight)
        ours.lora_B.copy_(theirs.lora_B["default"].weight)
    x = torch.randn(6, 48)
    unmerged_out = ours(x)
    theirs.merge()
    ours.merge()
    torch.testing.assert_close(ours.base.weight, theirs.base_layer.weight, atol=1e-6, rtol=0)
    torch.testing.assert_close(ours(x), unmerged_out, atol=1e-5, rtol=0)
    with pytest.raises(RuntimeError, match="already merged"):
        ours.merge()
    ours.unmerge()
    torch.testing.assert_close(ours.base.weight, base.weight, atol=1e-6, rtol=0)
    torch.testing.assert_close(ours(x), unmerged_out, atol=1e-6, rtol=0)
    with pytest.raises(RuntimeError, match="not merged"):
        ours.unmerge()


def test_bad_layer_arguments_are_refused():
    with pytest.raises(TypeError, match="nn.Linear"):
        LoRALinear(nn.Conv1d(2, 2, 1), R, ALPHA)
    with pytest.raises(ValueError, match="positive int"):
        LoRALinear(nn.Linear(4, 4), 0, ALPHA)


# The model ---------------------------------------------------------------------------


def test_add_lora_counts_and_freezes_exactly_as_peft():
    ours = add_lora(tiny_llama(), TARGETS, R, ALPHA)
    theirs = peft_model(tiny_llama())
    count = trainable_parameters(ours)
    assert type(count) is ParameterCount
    assert tuple(count) == theirs.get_nb_trainable_parameters()
    assert sorted(lora_layers(ours)) == sorted(n.removeprefix("base_model.model.") for n, m in theirs.named_modules() if isinstance(m, PeftLoraLinear))
    trainable = [n for n, p in ours.named_parameters() if p.requires_grad]
    assert trainable and all(n.endswith((".lora_A", ".lora_B")) for n in trainable)
    assert count.percent == pytest.approx(100 * count.trainable / count.total)
    assert f"{count.total:,}" in str(count)


def test_mark_only_lora_trainable_refreezes_a_model_that_was_unfrozen():
    model = add_lora(tiny_llama(), TARGETS, R, ALPHA)
    expected = trainable_parameters(model)
    model.requires_grad_(True)
    assert trainable_parameters(model).trainable == expected.total
    mark_only_lora_trainable(model)
    assert trainable_parameters(model) == expected


def test_model_output_equals_peft_and_merge_lora_gives_a_plain_model():
    theirs = peft_model(tiny_llama())
    randomize_lora(theirs)
    ours = add_lora(tiny_llama(), TARGETS, R, ALPHA)
    copy_peft_into_ours(theirs, ours)
    ids = tokens()
    expected = logits(theirs, ids)
    torch.testing.assert_close(logits(ours, ids), expected, atol=1e-6, rtol=0)
    assert not torch.allclose(expected, logits(tiny_llama(), ids), atol=1e-3)
    plain = merge_lora(ours)
    assert not lora_layers(plain) and type(plain.model.layers[0].self_attn.q_proj) is nn.Linear
    merged_theirs = theirs.merge_and_unload()
    torch.testing.assert_close(plain.model.layers[1].self_attn.v_proj.weight, merged_theirs.model.layers[1].self_attn.v_proj.weight, atol=1e-6, rtol=0)
    torch.testing.assert_close(logits(plain, ids), expected, atol=1e-5, rtol=0)


def test_add_lora_explains_a_miss_and_refuses_a_second_injection():
    with pytest.raises(ValueError, match=r"no nn.Linear .* matches \['qproj'\].*'q_proj'"):
        add_lora(tiny_llama(), ["qproj"], R, ALPHA)
    model = add_lora(tiny_llama(), "q_proj", R, ALPHA)
    assert len(lora_layers(model)) == 2
    with pytest.raises(ValueError, match="already has LoRA layers"):
        add_lora(model, "k_proj", R, ALPHA)


# Adapter files -----------------------------------------------------------------------


def trained_ours(seed=1, dropout=0.0):
    model = add_lora(tiny_llama(), TARGETS, R, ALPHA, dropout)
    randomize_lora(model, seed)
    return model.eval()


def test_adapter_file_holds_only_a_and_b_and_loads_into_a_fresh_base(tmp_path):
    ours = trained_ours()
    path = save_adapter(ours, tmp_path / "adapter.safetensors")
    settings, tensors = read_adapter(path)
    assert (settings.r, settings.alpha, settings.dropout) == (R, ALPHA, 0.0)
    assert tensors.keys() == lora_state_dict(ours).keys() and len(tensors) == 2 * len(lora_layers(ours))
    fresh = load_adapter(tiny_llama(), path)
    ids = tokens()
    assert torch.equal(logits(fresh, ids), logits(ours, ids))


def test_our_adapter_loads_in_peft(tmp_path):
    ours = trained_ours(dropout=0.1)
    folder = to_peft(save_adapter(ours, tmp_path / "ours.safetensors"), tmp_path / "peft")
    config = json.loads((folder / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["lora_dropout"], config["peft_type"]) == (R, ALPHA, 0.1, "LORA")
    theirs = PeftModel.from_pretrained(tiny_llama(), folder).eval()
    assert sum(isinstance(m, PeftLoraLinear) for m in theirs.modules()) == len(lora_layers(ours))
    ids = tokens()
    torch.testing.assert_close(logits(theirs, ids), logits(ours, ids), atol=1e-6, rtol=0)


def test_a_peft_adapter_loads_in_ours_and_survives_the_round_trip(tmp_path):
    theirs = peft_model(tiny_llama())
    randomize_lora(theirs, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.save_pretrained(tmp_path / "peft")
    ours = load_adapter(tiny_llama(), from_peft(tmp_path / "peft", tmp_path / "ours.safetensors"))
    ids = tokens()
    torch.testing.assert_close(logits(ours, ids), logits(theirs, ids), atol=1e-6, rtol=0)
    back = PeftModel.from_pretrained(tiny_llama(), to_peft(tmp_path / "ours.safetensors", tmp_path / "again"))
    torch.testing.assert_close(logits(back, ids), logits(theirs, ids), atol=1e-6, rtol=0)


def test_adapters_swap_on_one_base_without_touching_w(tmp_path):
    first, second = save_adapter(trained_ours(1), tmp_path / "1.safetensors"), save_adapter(trained_ours(2), tmp_path / "2.safetensors")
    model = load_adapter(tiny_llama(), first)
    base_weights = {k: v.clone() for k, v in model.state_dict().items() if "lora_" not in k}
    ids = tokens()
    out_first = logits(model, ids)
    load_adapter(model, second)
    assert torch.equal(logits(model, ids), logits(load_adapter(tiny_llama(), second), ids))
    load_adapter(model, first)
    assert torch.equal(logits(model, ids), out_first)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in base_weights.items())


def test_adapter_errors_name_the_file_and_the_field(tmp_path):
    path = save_adapter(trained_ours(), tmp_path / "r4.safetensors")
    other_rank = add_lora(tiny_llama(), TARGETS, 8, ALPHA)
    with pytest.raises(ValueError, match=r"r4\.safetensors: the adapter's r is 4 but the model's LoRA layers have 8"):
        load_adapter(other_rank, path)
    merged = load_adapter(tiny_llama(), path)
    next(iter(lora_layers(merged).values())).merge()
    with pytest.raises(RuntimeError, match="unmerge"):
        load_adapter(merged, path)
    save_file({"x": torch.zeros(1)}, tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match=r"plain\.safetensors: not an ftcourse LoRA adapter"):
        read_adapter(tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="no LoRA layers"):
        save_adapter(tiny_llama(), tmp_path / "none.safetensors")


def test_peft_options_that_change_the_math_are_refused(tmp_path):
    theirs = peft_model(tiny_llama())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.save_pretrained(tmp_path / "peft")
    config_file = tmp_path / "peft" / "adapter_config.json"
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**config, "use_rslora": True}))
    with pytest.raises(ValueError, match=r"adapter_config\.json: field 'use_rslora' is True"):
        from_peft(tmp_path / "peft", tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()
    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        from_peft(tmp_path / "nothing", tmp_path / "out.safetensors")
