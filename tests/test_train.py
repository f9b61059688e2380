"""The reference fine-tuning loop: masked labels, padding, a loss that falls, frozen weights left alone."""
import copy
import math

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from ftcourse import models
from ftcourse.train import (
    IGNORE,
    collate,
    early_stopping,
    encode_chat,
    finetune,
    general_english,
    generate_many,
    labelled_loss,
    lr_factor,
    perplexity,
    token_loss,
    training_step,
)
from ftcourse.world import landai, parcels


def test_collate_pads_right_and_masks_padding():
    batch = collate([{"input_ids": [5, 6, 7], "labels": [IGNORE, 6, 7]}, {"input_ids": [8], "labels": [8]}], pad_id=0)
    assert torch.equal(batch["input_ids"], torch.tensor([[5, 6, 7], [8, 0, 0]]))
    assert torch.equal(batch["attention_mask"], torch.tensor([[1, 1, 1], [1, 0, 0]]))
    assert torch.equal(batch["labels"], torch.tensor([[IGNORE, 6, 7], [8, IGNORE, IGNORE]]))


def test_lora_finetune_lowers_eval_loss_and_leaves_the_base_alone(course_model):
    """With peft's LoRA, not the course's: the loop trains whatever requires grad, a model from outside the course too."""
    model, tokenizer = copy.deepcopy(course_model[0]), course_model[1]
    ps = parcels(24, seed=11)
    train = [landai.conversation(p) for p in ps[:16]]
    held = [landai.conversation(p) for p in ps[16:]]
    torch.manual_seed(0)
    tuned = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]))
    frozen = {n: p.detach().clone() for n, p in tuned.named_parameters() if not p.requires_grad}
    lora = {n: p.detach().clone() for n, p in tuned.named_parameters() if p.requires_grad}
    history = finetune(tuned, tokenizer, train, eval=held, epochs=2, batch_size=8, lr=3e-3, progress=False)
    assert len(history.train_loss) == 4 and [s for s, _ in history.eval_loss] == [0, 2, 4]
    assert history.eval_loss[-1][1] < history.eval_loss[0][1]
    assert history.tokens == sum(len(encode_chat(tokenizer, c["messages"])["input_ids"]) for c in train) * 2
    after = dict(tuned.named_parameters())
    assert all(torch.equal(after[n], p) for n, p in frozen.items()), "frozen weights do not move"
    assert any(not torch.equal(after[n], p) for n, p in lora.items() if "lora_B" in n), "the adapters learn"


def test_max_steps_stops_early_and_the_seed_repeats_the_run(course_model):
    runs = []
    for _ in range(2):
        model, tokenizer = copy.deepcopy(course_model[0]), course_model[1]
        runs.append(finetune(model, tokenizer, [landai.conversation(p) for p in parcels(8)], epochs=5,
                             batch_size=4, lr=1e-4, max_steps=3, progress=False).train_loss)
    assert len(runs[0]) == 3 and runs[0] == runs[1]


def test_batched_generation_matches_one_at_a_time(course_model):
    model, tokenizer = course_model
    conversations = [landai.conversation(p)["messages"] for p in parcels(3, seed=2)]
    together = generate_many(model, tokenizer, conversations, max_new_tokens=24)
    alone = [generate_many(model, tokenizer, [c], max_new_tokens=24)[0] for c in conversations]
    assert together == alone


# --- the pieces notebook 03 teaches, on a tiny model of the course model's shape ---


@pytest.fixture(scope="module")
def tiny():
    tokenizer = AutoTokenizer.from_pretrained(models.COURSE_MODEL_DIR)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    return LlamaForCausalLM(config).eval(), tokenizer


def _convs(n, seed=3):
    return [landai.conversation(p) for p in parcels(n, seed=seed)]


def test_token_loss_is_the_models_own_loss_on_a_padded_batch(tiny):
    model, tokenizer = tiny
    batch = collate([encode_chat(tokenizer, c["messages"]) for c in _convs(3)], tokenizer.pad_token_id)
    batch["input_ids"][0, -1] = tokenizer.pad_token_id
    with torch.no_grad():
        out = model(**batch)
    assert torch.allclose(token_loss(out.logits, batch["labels"]), out.loss, atol=1e-6)
    counted = batch["labels"][:, 1:] != IGNORE
    by_hand = -out.logits[:, :-1].log_softmax(-1).gather(-1, batch["labels"][:, 1:].clamp(min=0)[..., None])[..., 0]
    assert torch.allclose(token_loss(out.logits, batch["labels"]), by_hand[counted].mean(), atol=1e-5)


def test_the_loops_loss_is_the_models_own_with_its_output_layer_run_only_on_labels(tiny):
    """Plain, with the course's LoRA and inside a peft model: the same loss and the same gradients."""
    from ftcourse import lora

    model, tokenizer = tiny
    batch = collate([encode_chat(tokenizer, c["messages"]) for c in _convs(3)], tokenizer.pad_token_id)
    ours = lora.add_lora(copy.deepcopy(model), ["q_proj", "v_proj"], r=2, alpha=4)
    with torch.no_grad():
        for layer in lora.lora_layers(ours).values():
            layer.lora_B.normal_()
    config = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"], init_lora_weights=False)
    for net in (copy.deepcopy(model), ours, get_peft_model(copy.deepcopy(model), config)):
        reference = net(**batch).loss
        reference.backward()
        expected = [p.grad.clone() for p in net.parameters() if p.requires_grad]
        net.zero_grad()
        loss = labelled_loss(net, batch)
        loss.backward()
        assert torch.allclose(loss, reference, atol=1e-6)
        assert all(torch.allclose(p.grad, g, atol=1e-6) for p, g in
                   zip([p for p in net.parameters() if p.requires_grad], expected))


def test_labels_on_every_token_when_asked(tiny):
    _, tokenizer = tiny
    messages = _convs(1)[0]["messages"]
    masked, every = encode_chat(tokenizer, messages), encode_chat(tokenizer, messages, assistant_only=False)
    assert every["labels"] == every["input_ids"] and masked["input_ids"] == every["input_ids"]
    assert IGNORE in masked["labels"] and tokenizer.eos_token_id in masked["labels"]
    # Encoded examples given to finetune with assistant_only=False are trained on every token too.
    model = tiny[0]
    history = finetune(copy.deepcopy(model), tokenizer, [masked], epochs=1, batch_size=1, assistant_only=False,
                       progress=False)
    with torch.no_grad():
        expected = model(**collate([every], tokenizer.pad_token_id)).loss.item()
    assert history.train_loss[0] == pytest.approx(expected, rel=1e-6)


def test_the_schedule_warms_up_from_the_first_step_and_decays_to_zero():
    total, warm = 20, 4
    factors = [lr_factor(s, total, warm) for s in range(total)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4] == 1.0 and all(a >= b for a, b in zip(factors[4:], factors[5:]))
    assert math.isclose(lr_factor(total, total, warm), 0.0, abs_tol=1e-12)


def test_finetune_follows_the_schedule_and_evaluates_every_n_steps(tiny):
    model, tokenizer = tiny
    history = finetune(copy.deepcopy(model), tokenizer, _convs(10), eval=_convs(2, seed=4), epochs=1, batch_size=2,
                       lr=1e-3, warmup=0.4, eval_every=2, progress=False)
    assert [s for s, _ in history.eval_loss] == [0, 2, 4, 5]
    assert history.lr == pytest.approx([1e-3 * lr_factor(s, 5, 2) for s in range(5)])


def test_early_stopping_keeps_the_best_and_stops_after_patience():
    assert early_stopping([3.0, 2.0, 1.5, 1.6, 1.7, 1.4], patience=2) == (2, 4)
    assert early_stopping([3.0, 2.0, 1.5, 1.6, 1.7, 1.4], patience=3) == (5, None)
    assert early_stopping([3.0, 2.0, 2.0, 2.0], patience=2) == (1, 3), "a tie is no improvement"
    assert early_stopping([3.0, 2.95, 2.9], patience=2, min_delta=0.1) == (0, 2)
    assert early_stopping([1.0], patience=1) == (0, None)


def test_early_stopping_in_finetune_puts_the_best_weights_back(tiny):
    model, tokenizer = tiny
    tuned = copy.deepcopy(model)
    before = {n: p.detach().clone() for n, p in tuned.named_parameters()}
    history = finetune(tuned, tokenizer, _convs(4), eval=_convs(2, seed=4), epochs=6, batch_size=2, lr=3.0,
                       warmup=0.0, patience=2, progress=False)  # a rate that wrecks the model: no epoch beats the start
    assert history.stopped_early and history.best == 0 and len(history.eval_loss) == 3
    assert all(torch.equal(p, before[n]) for n, p in tuned.named_parameters()), "the weights before training came back"
    with pytest.raises(ValueError, match="eval"):
        finetune(copy.deepcopy(model), tokenizer, _convs(2), patience=1, progress=False)


def test_a_training_step_ignores_stale_gradients(tiny):
    model, tokenizer = tiny
    batch = collate([encode_chat(tokenizer, c["messages"]) for c in _convs(2)], tokenizer.pad_token_id)
    runs = []
    for stale in (False, True):
        m = copy.deepcopy(model).train()
        optimizer = torch.optim.SGD(m.parameters(), lr=0.1)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
        if stale:
            for p in m.parameters():
                p.grad = torch.ones_like(p)
        loss = training_step(m, batch, optimizer, schedule)
        runs.append((loss, [p.detach().clone() for p in m.parameters()]))
        assert type(loss) is float and schedule.last_epoch == 1
    assert runs[0][0] == runs[1][0] and all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_perplexity_of_general_english(tiny):
    model, tokenizer = tiny
    texts = general_english()
    assert len(texts) > 50 and all(isinstance(t, str) and t for t in texts)
    ids = tokenizer(texts[:2])["input_ids"]
    rows = [i[:16] for i in ids]
    batch = collate([{"input_ids": r, "labels": r} for r in rows], tokenizer.pad_token_id)
    with torch.no_grad():
        expected = math.exp(float(model(**batch).loss))
    assert perplexity(model, tokenizer, texts[:2], max_length=16) == pytest.approx(expected, rel=1e-5)
    assert 1000 < perplexity(model, tokenizer, texts[:4], max_length=32) < 10_000, "an untrained model is near uniform"
