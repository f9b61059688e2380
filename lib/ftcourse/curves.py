"""Loss curves of real fine-tuning runs, one for each way a run commonly goes: the material of a diagnosis.

Reading a loss curve is a skill: the curve of a learning rate set too high, of a
model memorising a small training set, of a loss taken on the prompt as well as
the answer, and of a healthy run each look different. These are not drawn by
hand: ``measure`` makes them by full fine-tunes of the course model on the
LandAI task, each recipe the healthy one with only what its label names
changed (the rate; the data and epochs; the masking), and ``python -m
ftcourse.curves`` writes them to ``lib/ftcourse/data/loss_curves.json``,
committed so that a notebook reads them in a blink.

The file is one JSON object:

- ``"model"``: the model the runs started from; ``"made_by"``: the command that
  wrote the file; ``"torch"``: the torch version that ran them.
- ``"curves"``: a list, one object per run, in the order of ``RECIPES``:

  - ``"label"``: ``"healthy"``, ``"too_high_lr"``, ``"overfitting"`` or ``"no_masking"``;
  - ``"settings"``: how the run differed: ``n_train`` training conversations
    (parcels ``world.load("parcels")[:n_train]``), ``n_val`` validation ones (the
    last ``n_val`` parcels, never trained on), and the ``finetune`` arguments
    ``epochs``, ``lr``, ``batch_size``, ``warmup``, ``seed``, ``assistant_only``;
  - ``"steps_per_epoch"``: optimizer steps in one epoch;
  - ``"train_loss"``: the loss of each optimizer step's batch, on the tokens
    that run labels (the assistant's, or every token when ``assistant_only`` is
    false), measured before that step's update;
  - ``"train_epoch_loss"``: the mean of ``train_loss`` over each epoch;
  - ``"val_loss"``: the validation loss per assistant token before training
    (first value) and after each epoch; ``"val_steps"``: the optimizer step each
    was measured at (0, then the end of each epoch).
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path

from . import world
from .train import finetune
from .world import landai

PATH = Path(__file__).resolve().parent / "data" / "loss_curves.json"
LABELS = ("healthy", "too_high_lr", "overfitting", "no_masking")

_HEALTHY = {"n_train": 16, "n_val": 8, "epochs": 4, "lr": 2e-4, "batch_size": 4, "warmup": 0.1, "seed": 0,
            "assistant_only": True}
RECIPES: dict[str, dict] = {
    "healthy": _HEALTHY,
    "too_high_lr": _HEALTHY | {"lr": 2e-2},
    "overfitting": _HEALTHY | {"n_train": 4, "epochs": 30, "lr": 2e-3},
    "no_masking": _HEALTHY | {"assistant_only": False},
}


@dataclass(frozen=True)
class Curve:
    label: str
    settings: dict
    steps_per_epoch: int
    train_loss: list[float]
    train_epoch_loss: list[float]
    val_loss: list[float]
    val_steps: list[int]


def run(model, tokenizer, label: str, settings: dict, parcels: list | None = None, progress: bool = False) -> Curve:
    """Fine-tune a copy of ``model`` (every weight) by one recipe and keep its curves."""
    parcels = parcels if parcels is not None else world.load("parcels")
    train = [landai.conversation(p) for p in parcels[:settings["n_train"]]]
    val = [landai.conversation(p) for p in parcels[-settings["n_val"]:]]
    options = {k: v for k, v in settings.items() if k not in ("n_train", "n_val")}
    history = finetune(copy.deepcopy(model).requires_grad_(True), tokenizer, train, eval=val, progress=progress,
                       **options)
    per_epoch = math.ceil(len(train) / settings["batch_size"])
    epochs = [history.train_loss[i:i + per_epoch] for i in range(0, len(history.train_loss), per_epoch)]
    return Curve(label, dict(settings), per_epoch, history.train_loss, [sum(e) / len(e) for e in epochs],
                 [loss for _, loss in history.eval_loss], [step for step, _ in history.eval_loss])


def measure(model, tokenizer, recipes: dict[str, dict] = RECIPES, parcels: list | None = None,
            progress: bool = False) -> list[Curve]:
    """One curve per recipe, each run from its own copy of ``model``."""
    return [run(model, tokenizer, label, settings, parcels, progress) for label, settings in recipes.items()]


def to_json(curves: list[Curve], model: str, made_by: str) -> str:
    import torch

    rows = [{"label": c.label, "settings": c.settings, "steps_per_epoch": c.steps_per_epoch,
             "train_loss": [round(x, 5) for x in c.train_loss],
             "train_epoch_loss": [round(x, 5) for x in c.train_epoch_loss],
             "val_loss": [round(x, 5) for x in c.val_loss], "val_steps": c.val_steps} for c in curves]
    return json.dumps({"model": model, "made_by": made_by, "torch": torch.__version__, "curves": rows}, indent=1) + "\n"


def load(path: Path | str = PATH) -> list[Curve]:
    """The committed curves (see the module docstring for the file's format)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [Curve(**row) for row in data["curves"]]


def main() -> None:
    from .models import load as load_model

    model, tokenizer = load_model(device="cpu")
    curves = measure(model, tokenizer, progress=True)
    PATH.write_text(to_json(curves, "course-base", "python -m ftcourse.curves"), encoding="utf-8")
    for c in curves:
        print(f"{c.label:>12}: train {c.train_epoch_loss[0]:.3f} -> {c.train_epoch_loss[-1]:.3f}, "
              f"val {' '.join(f'{v:.3f}' for v in c.val_loss)}")


if __name__ == "__main__":
    main()
