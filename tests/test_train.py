"""The reference fine-tuning loop: masked labels, padding, a loss that falls, frozen weights left alone."""
import torch
from peft import LoraConfig, get_peft_model

from ftcourse import models
from ftcourse.train import IGNORE, collate, encode_chat, finetune, generate_many
from ftcourse.world import landai, parcels


def test_collate_pads_right_and_masks_padding():
    batch = collate([{"input_ids": [5, 6, 7], "labels": [IGNORE, 6, 7]}, {"input_ids": [8], "labels": [8]}], pad_id=0)
    assert torch.equal(batch["input_ids"], torch.tensor([[5, 6, 7], [8, 0, 0]]))
    assert torch.equal(batch["attention_mask"], torch.tensor([[1, 1, 1], [1, 0, 0]]))
    assert torch.equal(batch["labels"], torch.tensor([[IGNORE, 6, 7], [8, IGNORE, IGNORE]]))


def test_lora_finetune_lowers_eval_loss_and_leaves_the_base_alone():
    model, tokenizer = models.load(device="cpu")
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


def test_max_steps_stops_early_and_the_seed_repeats_the_run():
    runs = []
    for _ in range(2):
        model, tokenizer = models.load(device="cpu")
        runs.append(finetune(model, tokenizer, [landai.conversation(p) for p in parcels(8)], epochs=5,
                             batch_size=4, lr=1e-4, max_steps=3, progress=False).train_loss)
    assert len(runs[0]) == 3 and runs[0] == runs[1]


def test_batched_generation_matches_one_at_a_time():
    model, tokenizer = models.load(device="cpu")
    conversations = [landai.conversation(p)["messages"] for p in parcels(3, seed=2)]
    together = generate_many(model, tokenizer, conversations, max_new_tokens=24)
    alone = [generate_many(model, tokenizer, [c], max_new_tokens=24)[0] for c in conversations]
    assert together == alone
