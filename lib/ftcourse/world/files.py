"""The world's data files: generated once by ``ftcourse world build``, committed as JSONL.

Notebooks read these files rather than calling the generators, so a learner can
open them, and a change to a generator shows up as a diff in review.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .commits import Commit, commits
from .parcels import Parcel, parcels
from .tickets import Ticket, tickets

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

# file name -> (how to generate its rows, how to read a row back)
FILES: dict[str, tuple[Callable[[], list[dict]], Callable[[dict], object]]] = {
    "parcels.jsonl": (lambda: [p.to_dict() for p in parcels(500, seed=0)], Parcel.from_dict),
    "commits.jsonl": (lambda: [c.to_dict() for c in commits(600, seed=0)], lambda d: Commit(**d)),
    "tickets.jsonl": (lambda: [t.to_dict() for t in tickets(300, seed=0)], lambda d: Ticket(**d)),
}


def render(name: str) -> str:
    """The exact text of one data file: a JSON object per line, keys in generator order."""
    rows, _ = FILES[name]
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows())


def build(out_dir: Path = DATA_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        (out_dir / name).write_text(render(name), encoding="utf-8")
        written.append(out_dir / name)
    return written


def stale(data_dir: Path = DATA_DIR) -> list[str]:
    """Names of files that are missing or differ from what the generators make now."""
    return [n for n in FILES if not (data_dir / n).is_file() or (data_dir / n).read_text(encoding="utf-8") != render(n)]


def load(name: str, data_dir: Path = DATA_DIR) -> list:
    """Read a committed data file back as objects: ``load("parcels")`` gives ``list[Parcel]``."""
    file = name if name.endswith(".jsonl") else f"{name}.jsonl"
    _, read = FILES[file]
    with open(data_dir / file, encoding="utf-8") as f:
        return [read(json.loads(line)) for line in f]
