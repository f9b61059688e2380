"""The memory estimator agrees with what PyTorch really allocates and saves, and measures truly."""
import warnings

import pandas as pd
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from ftcourse import measure, memory, models

TINY = dict(hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=1024)
BATCH, SEQ = 2, 48


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A random-initialised tiny Llama saved in bf16, as a pretrained checkpoint would be."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**TINY)).to(torch.bfloat16).save_pretrained(folder)
    return folder


def test_cpu_measurement_sees_exact_allocations():
    def allocate():
        first = torch.empty(1_000_000, dtype=torch.float32)
        second = torch.empty(250_000, dtype=torch.float64)
        del first
        return second

    m = measure.measure_peak_memory(allocate, "cpu")
    assert m.peak == 4_000_000 + 2_000_000, "both tensors were alive at once"
    assert m.retained == 2_000_000, "only the returned tensor is left"
    assert m.result.numel() == 250_000
    assert "profile_memory" in m.method


def test_measurement_ignores_what_existed_before():
    kept = torch.empty(1_000_000)
    m = measure.measure_peak_memory(lambda: kept.add_(1), "cpu")
    assert m.retained == 0 and m.peak < 100, "an in-place update allocates at most a scalar"


def test_parameter_count_and_weights_on_the_meta_device():
    config = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32, vocab_size=32000)
    h, f, v, layers = 4096, 11008, 32000, 32
    expected = layers * (4 * h * h + 3 * h * f + 2 * h) + 2 * v * h + h
    model = memory.meta_model(config)
    assert memory.parameter_count(model) == expected
    assert next(model.parameters()).device.type == "meta"

    bf16 = memory.weight_memory(config, "bf16")
    quantized = layers * (4 * h * h + 3 * h * f)
    nf4 = memory.weight_memory(config, "nf4-dq", other_dtype=torch.bfloat16)
    assert bf16["weights"] - 2 * expected == nf4["weights"] - quantized // 2 - 2 * (expected - quantized)
    bits = 8 * (quantized / 2 + nf4["quantization constants"]) / quantized
    assert bits == pytest.approx(4 + 8 / 64 + 32 / (64 * 256), abs=1e-3), "the QLoRA paper's 4.127 bits per weight"


def test_estimate_components_follow_the_formulas():
    config = LlamaConfig(**TINY)
    n = memory.parameter_count(memory.meta_model(config))
    full = memory.estimate_training_memory(config, "full", weight_dtype=torch.float32, optimizer="adamw")
    assert full.gradients == 4 * n and full.optimizer_state == 8 * n and full.trainable == n
    mixed = memory.estimate_training_memory(config, "full", weight_dtype=torch.bfloat16, optimizer="adamw_fp32")
    assert mixed.gradients == 2 * n and mixed.optimizer_state == 8 * n

    lora = memory.estimate_training_memory(config, "lora", lora_r=4, lora_targets=["q_proj", "v_proj"])
    h, kv = 128, 2 * 32
    adapters = TINY["num_hidden_layers"] * 4 * ((h + h) + (h + kv))
    assert lora.trainable == adapters
    assert lora.adapter_weights == lora.gradients == 4 * adapters and lora.optimizer_state == 8 * adapters
    assert full.total == sum(full.components().values())
    assert full.peak <= full.total


def test_bad_arguments_name_the_choices():
    config = LlamaConfig(**TINY)
    with pytest.raises(ValueError, match="'full', 'lora', 'qlora'"):
        memory.estimate_training_memory(config, "prefix")
    with pytest.raises(ValueError, match="adamw"):
        memory.estimate_training_memory(config, "full", optimizer="adam")
    with pytest.raises(ValueError, match="q_proj"):
        memory.estimate_training_memory(config, "lora", lora_targets=["query"])
    with pytest.raises(ValueError, match="nf4"):
        memory.weight_memory(config, "nf3")


def saved_activation_bytes(model, ids):
    """Bytes autograd saves for backward, each storage once, parameters excluded."""
    saved = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, labels=ids)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(n for ptr, n in saved.items() if ptr not in params)


@pytest.mark.parametrize(
    "method,fmt,targets",
    [
        ("full", "fp32", None),
        ("full", "bf16", None),
        ("lora", "fp32", None),
        ("lora", "bf16", None),
        ("lora", "fp32", ["q_proj", "v_proj"]),
        ("lora", "bf16", ["k_proj", "down_proj"]),
        ("qlora", "nf4-dq", None),
    ],
)
def test_activation_estimate_matches_what_autograd_saves(checkpoint, method, fmt, targets):
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = measure.pretrained_loader(checkpoint, fmt, "cpu")()
        if method == "qlora":
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        if method != "full":
            model = get_peft_model(model, LoraConfig(r=8, target_modules=targets or "all-linear", lora_dropout=0.0))
    ids = torch.randint(0, TINY["vocab_size"], (BATCH, SEQ), generator=torch.Generator().manual_seed(0))
    measured = saved_activation_bytes(model.train(), ids)
    dtype = torch.bfloat16 if fmt == "bf16" else torch.float32
    estimate = memory.estimate_training_memory(
        LlamaConfig(**TINY), method, weight_dtype=dtype, batch_size=BATCH, seq_len=SEQ, lora_r=8, lora_targets=targets
    )
    assert estimate.activations == measured


@pytest.mark.parametrize("method,fmt", [("full", "fp32"), ("lora", "fp32"), ("qlora", "nf4-dq"), ("qlora", "nf4")])
def test_measured_training_step_matches_the_estimate(checkpoint, method, fmt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measured = measure.measure_training_step(measure.pretrained_loader(checkpoint, fmt, "cpu"), method, batch_size=BATCH, seq_len=SEQ, device="cpu")
    estimate = memory.estimate_training_memory(
        LlamaConfig(**TINY), method, weight_dtype=torch.float32, batch_size=BATCH, seq_len=SEQ,
        gradient_checkpointing=method == "qlora", double_quant=fmt == "nf4-dq",
    )
    assert measured.weights == pytest.approx(estimate.weights + estimate.quantization_constants + estimate.adapter_weights, rel=0.01)
    assert measured.gradients == estimate.gradients
    assert measured.optimizer_state == pytest.approx(estimate.optimizer_state, rel=0.01)
    assert measured.peak == pytest.approx(estimate.peak, rel=0.05)


def test_quantized_footprint_counts_the_constants_transformers_leaves_out(checkpoint):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = measure.measure_peak_memory(measure.pretrained_loader(checkpoint, "nf4", "cpu"), "cpu")
    footprint = m.result.get_memory_footprint()
    expected = memory.weight_memory(LlamaConfig(**TINY), "nf4")
    assert m.retained == pytest.approx(sum(expected.values()), rel=0.001)
    assert m.retained - footprint == pytest.approx(expected["quantization constants"], rel=0.01)


def test_footprint_table_puts_measurement_next_to_estimate(checkpoint):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = measure.footprint_table(checkpoint, formats=("bf16", "nf4-dq"), device="cpu")
    assert list(table.index) == ["bf16", "nf4-dq"]
    assert table["error %"].abs().max() < 0.1
    assert table.loc["nf4-dq", "get_memory_footprint MB"] < table.loc["nf4-dq", "measured MB"], "the footprint leaves out the constants"
    assert 0.5 < table.loc["nf4-dq", "bytes/param, block linears"] < 0.6


def test_shared_code_tables_save_their_bytes_and_change_no_output(checkpoint):
    """bitsandbytes copies its two code tables into every 4-bit layer; the course's loader keeps one copy."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = pd.concat([measure.footprint_table(checkpoint, formats=("nf4-dq",), device="cpu", share_code_tables=share)
                           .assign(shared=share) for share in (False, True)])
        model = measure.pretrained_loader(checkpoint, "nf4-dq", "cpu", share_code_tables=False)()
    layers = len(memory.block_linears(model))
    assert table["error %"].abs().max() < 0.1, "the estimate follows the loader either way"
    saved = (table["measured MB"].iloc[0] - table["measured MB"].iloc[1]) * 1e6
    assert saved == pytest.approx((layers - 1) * (16 + 256) * 4, abs=1)

    ids = torch.randint(0, TINY["vocab_size"], (1, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = model(input_ids=ids).logits
        assert models.share_code_tables(model) == (layers - 1) * (16 + 256) * 4
        assert torch.equal(model(input_ids=ids).logits, before)
    assert models.share_code_tables(model) == 0, "a second call finds nothing left to share"


def test_4bit_layers_keep_their_storage_through_inference(checkpoint):
    """bitsandbytes would repack 4-bit layers on AVX512-BF16 CPUs at the first eval-mode pass; the loader keeps QLoRA's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = measure.pretrained_loader(checkpoint, "nf4-dq", "cpu")()
    ids = torch.randint(0, TINY["vocab_size"], (1, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        training = model.train()(input_ids=ids).logits
        inference = model.eval()(input_ids=ids).logits
    states = [layer.weight.quant_state for layer in memory.block_linears(model).values()]
    assert all(s.nested and not getattr(s, "packing_format_for_cpu", False) for s in states), "absmax stays double-quantized"
    assert torch.equal(inference, training), "the same arithmetic in eval mode as in training"
