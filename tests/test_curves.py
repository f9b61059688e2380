"""The committed loss curves come from real runs of curves.measure, in the format its docstring gives."""
import json

import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from ftcourse import curves, models
from ftcourse.world import parcels

TINY_RECIPES = {
    "healthy": {"n_train": 4, "n_val": 2, "epochs": 2, "lr": 1e-3, "batch_size": 2, "warmup": 0.1, "seed": 0,
                "assistant_only": True},
    "no_masking": {"n_train": 4, "n_val": 2, "epochs": 2, "lr": 1e-3, "batch_size": 2, "warmup": 0.1, "seed": 0,
                   "assistant_only": False},
}


@pytest.fixture(scope="module")
def tiny():
    tokenizer = AutoTokenizer.from_pretrained(models.COURSE_MODEL_DIR)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=4, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return LlamaForCausalLM(config).eval(), tokenizer


def test_measure_is_deterministic_and_round_trips(tiny, tmp_path):
    model, tokenizer = tiny
    few = parcels(8, seed=5)
    first, again = (curves.measure(model, tokenizer, TINY_RECIPES, few) for _ in range(2))
    assert first == again, "same recipes, same curves"
    for curve in first:
        assert curve.steps_per_epoch == 2 and len(curve.train_loss) == 4 and len(curve.train_epoch_loss) == 2
        assert curve.val_steps == [0, 2, 4] and len(curve.val_loss) == 3
    # Before any update both runs see the same model: same validation loss, but the unmasked
    # run's training loss is taken on other tokens too.
    healthy, unmasked = first
    assert healthy.val_loss[0] == unmasked.val_loss[0] and healthy.train_loss[0] != unmasked.train_loss[0]
    path = tmp_path / "curves.json"
    path.write_text(curves.to_json(first, "tiny", "test"))
    back = curves.load(path)
    assert [c.label for c in back] == ["healthy", "no_masking"]
    assert back[0].val_loss == pytest.approx(first[0].val_loss, abs=1e-5)


def test_the_committed_curves_hold_every_label_with_consistent_lengths():
    data = json.loads(curves.PATH.read_text())
    assert data["model"] == "course-base" and data["made_by"] == "python -m ftcourse.curves"
    loaded = curves.load()
    assert [c.label for c in loaded] == list(curves.LABELS) == list(curves.RECIPES)
    for curve in loaded:
        assert curve.settings == curves.RECIPES[curve.label], "the file was made by the recipes in the module"
        epochs = curve.settings["epochs"]
        assert len(curve.train_loss) == epochs * curve.steps_per_epoch and len(curve.train_epoch_loss) == epochs
        assert len(curve.val_loss) == epochs + 1 and curve.val_steps[0] == 0
