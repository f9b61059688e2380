"""`ftcourse build-base-model --smoke` runs the whole pipeline: corpus, tokenizer, pretraining, card, gap."""
import json
import subprocess
import sys

from ftcourse import models
from ftcourse.train import generate


def test_smoke_build_writes_a_loadable_model_and_its_card(tmp_path):
    out = tmp_path / "smoke"
    (out).mkdir()
    (out / "notes.txt").write_text("mine")
    result = subprocess.run([sys.executable, "-m", "ftcourse", "build-base-model", "--smoke", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "notes.txt").read_text() == "mine", "files the build does not write are left alone"
    assert not (tmp_path / "smoke.partial").exists()
    model, tokenizer = models.load(out)
    assert model.config.num_hidden_layers == 2 and len(tokenizer) <= 600
    assert type(generate(model, tokenizer, [{"role": "user", "content": "Hi"}], max_new_tokens=3)) is str
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["perplexity"]) == {"general", "world"}
    assert metrics["gap"]["train_examples"] == 8 and metrics["log"]["steps"]
    card = (out / "README.md").read_text()
    for section in ("## Architecture", "## Corpus", "## Training", "## Held-out perplexity", "## Samples",
                    "## The behaviour gap", "ftcourse build-base-model --smoke"):
        assert section in card
    assert (out / "loss_curve.png").stat().st_size > 1000
