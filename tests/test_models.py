"""The committed course model: loads like a hub model, generates, and its chat template masks the right tokens."""
import subprocess
import sys
import warnings

import pytest
import torch
from safetensors import safe_open
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from ftcourse import models
from ftcourse.train import encode_chat, generate
from ftcourse.world import landai, parcels


@pytest.fixture(scope="module")
def course():
    return models.load()


def test_the_course_model_is_a_small_llama_in_fp32(course):
    model, tokenizer = course
    assert type(model) is LlamaForCausalLM and type(tokenizer) is PreTrainedTokenizerFast
    assert model.dtype == torch.float32 and not model.training
    n = sum(p.numel() for p in model.parameters())
    assert 1_000_000 < n < 10_000_000
    names = {name.rsplit(".", 2)[-2] for name, _ in model.named_parameters() if name.endswith("proj.weight")}
    assert names == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert model.config.max_position_embeddings >= 512 == tokenizer.model_max_length


def test_the_weights_file_is_safetensors_under_25_mb():
    path = models.COURSE_MODEL_DIR / "model.safetensors"
    assert path.stat().st_size <= 25 * 1024 * 1024
    with safe_open(str(path), framework="pt") as f:
        assert all(f.get_slice(k).get_dtype() == "F32" for k in f.keys())
    for name in ("config.json", "generation_config.json", "tokenizer.json", "README.md", "loss_curve.png"):
        assert (models.COURSE_MODEL_DIR / name).is_file(), name


def test_the_tokenizer_has_its_special_tokens(course):
    _, tokenizer = course
    ids = {tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id}
    assert None not in ids and len(ids) == 3
    assert tokenizer("Parcel 4412")["input_ids"][0] == tokenizer.bos_token_id
    assert "{% generation %}" in tokenizer.chat_template
    text = "Parcel 4412 is $185,000 — 3.20 acres, zoned R-2. def f(x): return x ** 2"
    assert tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) == text


def test_the_assistant_mask_covers_exactly_the_replies(course):
    _, tokenizer = course
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Zoning of parcel 4412?"},
        {"role": "assistant", "content": "R-2, two-family residential."},
        {"role": "user", "content": "And the flood zone?"},
        {"role": "assistant", "content": "Zone X: low risk."},
    ]
    enc = encode_chat(tokenizer, messages)
    ids, labels, mask = enc["input_ids"], enc["labels"], enc["assistant_mask"]
    assert len(ids) == len(labels) == len(mask)
    assert all((lab == tok) if m else (lab == -100) for tok, lab, m in zip(ids, labels, mask))
    trained = tokenizer.decode([t for t, m in zip(ids, mask) if m])
    assert trained == "R-2, two-family residential.<|end|>Zone X: low risk.<|end|>"
    prompt_only = tokenizer.apply_chat_template(messages[:2], add_generation_prompt=True, tokenize=True, return_dict=True)
    assert ids[:len(prompt_only["input_ids"])] == list(prompt_only["input_ids"]) and not any(mask[:len(prompt_only["input_ids"])])
    assert encode_chat(tokenizer, messages, max_length=10)["input_ids"] == ids[:10]


def test_generation_is_greedy_and_answers_in_the_worlds_language(course):
    model, tokenizer = course
    conversation = landai.conversation(parcels(1, seed=3)[0])["messages"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reply = generate(model, tokenizer, conversation, max_new_tokens=40)
    assert type(reply) is str and reply.strip()
    assert reply == generate(model, tokenizer, conversation[:-1], max_new_tokens=40), "the reference answer is ignored"
    prompt = tokenizer("Parcel 7203 covers", return_tensors="pt")
    out = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    assert "acres" in tokenizer.decode(out[0])


def test_an_unknown_name_offline_says_what_to_do():
    with pytest.raises(models.ModelNotFound) as err:
        models.load("no-such-org/no-such-model")
    message = str(err.value)
    assert "no-such-org/no-such-model" in message and "internet" in message and "path" in message
    assert message.count(". ") == 0 and message.endswith("."), "one sentence"


def test_dtype_and_device_options():
    model, _ = models.load(dtype="bfloat16", device="cpu")
    assert model.dtype == torch.bfloat16 and model.device.type == "cpu"
    with pytest.raises(ValueError, match="quantization"):
        models.load(quantization="int4")


@pytest.mark.parametrize("quantization, layer", [("int8", "Linear8bitLt"), ("nf4", "Linear4bit")])
def test_bitsandbytes_quantization_loads_and_generates(quantization, layer):
    model, tokenizer = models.load(quantization=quantization, device="cpu")
    assert type(model.model.layers[0].self_attn.q_proj).__name__ == layer
    assert type(generate(model, tokenizer, [{"role": "user", "content": "Hello"}], max_new_tokens=4)) is str


def test_nf4_layers_share_one_copy_of_the_code_tables_and_keep_it_through_generation():
    """Why ``models.keep_qlora_layout`` exists.

    On a CPU with AVX512-BF16, bitsandbytes repacks a 4-bit layer the first time it runs in eval
    mode without gradients: the absmax constants are expanded to bf16 (double quantization undone)
    and the product is computed in bf16 whatever the compute dtype. Bytes and outputs would then
    depend on the learner's CPU and on whether a forward pass has happened; the course keeps them
    the same everywhere. (A layer whose out_features is not a multiple of 32, or whose in_features
    is not one of the block size, would even fail there with an AssertionError.)
    """
    model, tokenizer = models.load(quantization="nf4", device="cpu")
    generate(model, tokenizer, [{"role": "user", "content": "Hello"}], max_new_tokens=2)
    states = [m.weight.quant_state for m in model.modules() if type(m).__name__ == "Linear4bit"]
    assert len(states) == 7 * model.config.num_hidden_layers
    assert len({s.code.data_ptr() for s in states}) == 1 and len({s.state2.code.data_ptr() for s in states}) == 1
    assert all(s.nested and not getattr(s, "packing_format_for_cpu", False) for s in states), "absmax stays double-quantized"
    assert models.keep_qlora_layout(model) == len(states), "every 4-bit layer is kept in QLoRA's storage"


def test_importing_the_libraries_writes_nothing_to_stderr():
    """nbgrader fails a cell that writes to stderr; bitsandbytes logs there at import on some CPUs."""
    done = subprocess.run([sys.executable, "-c", "import ftcourse, peft, bitsandbytes"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
