"""ftcourse.serve, distill and drift on tiny models: mixed batches agree with each adapter alone, adapters load in peft."""
import warnings

import pytest
import torch
from peft import PeftModel
from transformers import AutoTokenizer

from ftcourse import adapters as adapter_files
from ftcourse import drift, lora, serve
from ftcourse.distill import student_set, tiny_llama
from ftcourse.models import COURSE_MODEL_DIR
from ftcourse.train import generate_many
from ftcourse.world import routing
from ftcourse.world.files import stale
from ftcourse.world.tickets import CATEGORIES, CATEGORIES_AFTER_LAUNCH, tickets

TARGETS = ["q_proj", "v_proj", "down_proj"]


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(COURSE_MODEL_DIR)


@pytest.fixture(scope="module")
def adapters(tokenizer, tmp_path_factory):
    """Two ftcourse adapters with random, non-zero updates, converted to peft folders, and the models that made them."""
    folder = tmp_path_factory.mktemp("adapters")
    made, models = {}, {}
    for seed, name in enumerate(["tickets", "commits"], start=1):
        model = lora.add_lora(tiny_llama(tokenizer, hidden=32, mlp=64), TARGETS, r=4, alpha=8)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in adapter_files.lora_state_dict(model).values():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        made[name] = adapter_files.to_peft(adapter_files.save_adapter(model, folder / f"{name}.safetensors"), folder / name)
        models[name] = model
    return made, models


@pytest.fixture(scope="module")
def served(tokenizer, adapters):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return serve.load_adapters(tiny_llama(tokenizer, hidden=32, mlp=64), adapters[0])


def conversations(n):
    return [routing.conversation(t)["messages"] for t in tickets(n, seed=3)]


def test_saved_adapters_are_standard_peft_adapters(tokenizer, adapters):
    folders, models = adapters
    ids = torch.tensor([tokenizer(tickets(1)[0].thread)["input_ids"][:40]])
    for name, folder in folders.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = PeftModel.from_pretrained(tiny_llama(tokenizer, hidden=32, mlp=64), folder).eval()
        with torch.no_grad():
            theirs, ours = loaded(input_ids=ids).logits, models[name](input_ids=ids).logits
        assert torch.allclose(theirs, ours, atol=1e-5), name


def test_a_mixed_batch_answers_each_request_as_its_adapter_alone(tokenizer, served):
    convs = conversations(9)
    names = ["tickets", "commits", serve.BASE] * 3
    mixed = serve.generate_mixed(served, tokenizer, convs, names, max_new_tokens=5)
    assert mixed == serve.generate_grouped(served, tokenizer, convs, names, max_new_tokens=5)
    assert mixed == serve.generate_swapping(served, tokenizer, convs, names, max_new_tokens=5)
    with served.disable_adapter():
        plain = generate_many(served, tokenizer, convs[2::3], 5)
    assert mixed[2::3] == plain
    assert len(set(mixed[:3])) > 1, "random adapters that answer alike would hide a routing bug"


def test_merged_models_match_their_adapter_and_cost_a_base_each(tokenizer, served):
    merged = serve.merged_models(served, ["tickets", "commits"])
    ids = torch.tensor([tokenizer(tickets(2)[1].thread)["input_ids"][:30]])
    for name, model in merged.items():
        served.set_adapter(name)
        with torch.no_grad():
            assert torch.allclose(model(input_ids=ids).logits, served(input_ids=ids).logits, atol=1e-5)
    base_bytes = serve.parameter_bytes(served.get_base_model()) - sum(
        p.nbytes for n, p in served.named_parameters() if "lora_" in n)
    assert serve.parameter_bytes(*merged.values()) == 2 * base_bytes
    assert serve.parameter_bytes(served, served) == serve.parameter_bytes(served)


def test_load_adapters_refuses_the_base_name(tokenizer, adapters):
    with pytest.raises(ValueError, match="__base__"):
        serve.load_adapters(tiny_llama(tokenizer, hidden=32, mlp=64), {serve.BASE: adapters[0]["tickets"]})


def test_route_keeps_order_and_sends_unknown_tasks_to_the_base():
    requests = [{"task": "b"}, {"task": "a"}, {"task": "zzz"}, {"task": "a"}]
    assert serve.route(requests, {"a": "A", "b": "B"}) == ["B", "A", serve.BASE, "A"]


def test_measure_and_cost():
    calls = []
    times = serve.measure(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(times) == 3 and len(calls) == 5 and all(t >= 0 for t in times)
    assert serve.cost_per_million([0.072, 9.0, 0.072], 2, 2.0) == pytest.approx(20.0)
    with pytest.raises(ValueError):
        serve.cost_per_million([], 2, 2.0)
    with pytest.raises(ValueError):
        serve.measure(lambda: None, repeats=0)


def test_student_set_drops_invalid_replies_and_keeps_order():
    pool = tickets(4)
    replies = [" bug\n", "Billing", "account", "feature request"]
    got = student_set(pool, replies, routing.parse, routing.conversation)
    assert [g["messages"][-1]["content"] for g in got] == ["bug", "account"]
    assert got[1]["messages"][1]["content"] == routing.request_text(pool[2])
    assert pool[2].thread.split("\n", 1)[1].startswith(routing.request_text(pool[2]))
    with pytest.raises(ValueError, match="pair up"):
        student_set(pool, replies[:3], routing.parse, routing.conversation)


def test_tiny_llama_reads_the_course_tokens(tokenizer):
    model = tiny_llama(tokenizer)
    assert model.config.vocab_size == len(tokenizer) and model.config.pad_token_id == tokenizer.pad_token_id
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    assert torch.equal(tiny_llama(tokenizer).model.embed_tokens.weight, model.model.embed_tokens.weight)


def test_the_world_after_launch_adds_a_category_and_leaves_the_files_alone():
    after = tickets(200, seed=1, after_launch=True)
    seen = {t.record["category"] for t in after}
    assert seen == set(CATEGORIES_AFTER_LAUNCH)
    assert 0.1 < sum(t.record["category"] == "integration" for t in after) / 200 < 0.3
    assert {t.record["category"] for t in tickets(200, seed=1)} == set(CATEGORIES)
    assert not {t.ticket_id for t in after} & {t.ticket_id for t in tickets(200, seed=1)}
    assert stale() == []
    assert routing.parse("integration") is None and routing.parse(" integration ", CATEGORIES_AFTER_LAUNCH) == "integration"


def test_rolling_accuracy_and_first_alarm():
    correct = [True] * 6 + [False, True, False, False]
    assert drift.rolling_accuracy(correct, 4)[:4] == [None, None, None, 1.0]
    assert drift.rolling_accuracy(correct, 4)[-1] == 0.25
    assert drift.first_alarm(correct, 4, 0.75) == 8  # window 5..8 holds 2 of 4
    assert drift.first_alarm(correct, 4, 0.5) == 9
    assert drift.first_alarm(correct[:7], 4, 0.75) is None  # 3 of 4 is not below 0.75


def test_replay_mix():
    new, old = list(range(10)), list(range(100, 200))
    mix = drift.replay_mix(new, old, 0.5, seed=1)
    assert sorted(x for x in mix if x < 100) == new and sum(x >= 100 for x in mix) == 10
    assert mix == drift.replay_mix(new, old, 0.5, seed=1) and mix != sorted(mix)
    assert drift.replay_mix(new, old, 0.0) != [] and len(drift.replay_mix(new, old, 0.25)) == 13  # 10 * .25/.75 = 3.33 -> 3
    with pytest.raises(ValueError):
        drift.replay_mix(new, old[:5], 0.5)
    with pytest.raises(ValueError):
        drift.replay_mix(new, old, 1.0)
