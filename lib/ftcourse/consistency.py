"""How consistent a data set teaches: the format of every assistant turn, measured.

A model copies the spread of its examples. If a fifth of the answers open with a
heading, some end with "Best, Dana" and the rest are prose, the model learns to pick
one of those at random. This module turns each assistant turn into format features
(heading, bullets, bold labels, length, sign-off, the required fields of a target
layout), reports how they spread, flags the turns that break the majority's format,
finds near-identical prompts that were answered differently, and counts the system
prompts in use.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from .dedup import near_duplicates, normalize, prompt_text

HEADING = re.compile(r"^\s*(#{1,6}\s+\S|\*\*[^*\n]+\*\*\s*$)")
BULLET = re.compile(r"^\s*([-*\u2022]|\d+[.)])\s+\S")
LABEL = re.compile(r"^\s*(?:(?:[-*\u2022]|\d+[.)])\s+)?(?:\*\*)?([A-Za-z][\w ,/&'()-]{0,40}?)(?:\*\*)?\s*:(?:\*\*)?\s+\S")
BOLD = re.compile(r"\*\*[^*\n]+\*\*")
SIGN_OFF = re.compile(
    r"^\s*(?:[-\u2014\u2013]+\s*\w+|(?:best|regards|cheers|thanks|thank you|sincerely|kind regards|warm regards|all the best)\b.*"
    r"|.*\b(?:hope (?:this|that) helps|let me know|happy to help|feel free to)\b.*)$",
    re.IGNORECASE,
)


def labels(text: str) -> list[str]:
    """The labels of ``Label: value`` lines (bulleted or bold or neither), in order."""
    return [m.group(1).strip() for line in text.splitlines() if (m := LABEL.match(line))]


def features(text: str, required: Sequence[str] = ()) -> dict:
    """Format features of one assistant turn."""
    lines = [line for line in text.splitlines() if line.strip()]
    found = [lab.lower() for lab in labels(text)]
    wanted = [f.lower() for f in required]
    row = {
        "heading": bool(lines) and bool(HEADING.match(lines[0])),
        "bullets": sum(bool(BULLET.match(line)) for line in lines),
        "labels": len(found),
        "bold": len(BOLD.findall(text)),
        "sign_off": any(SIGN_OFF.match(line) and not LABEL.match(line) for line in lines[-2:]),
        "lines": len(lines),
        "words": len(text.split()),
    }
    if required:
        row["fields"] = sum(f in found for f in wanted) / len(wanted)
        row["layout"] = found == wanted  # every required label, in order, and no other
    return row


def format_name(row: dict | pd.Series) -> str:
    """A coarse name for a turn's format, so that formats can be counted."""
    parts = ["heading"] if row["heading"] else []
    if row["bullets"] >= 2:
        parts.append("bullets")
    if row["labels"] >= 2:
        parts.append("labels")
    if not parts:
        parts.append("prose")
    if row["sign_off"]:
        parts.append("sign-off")
    return "+".join(parts)


@dataclass
class Conflict:
    """Near-identical prompts whose answers differ."""

    examples: tuple[int, ...]
    answers: int  # how many different answers (after normalising) they got


@dataclass
class ConsistencyReport:
    features: pd.DataFrame  # one row per assistant turn: example, turn, the features, format, tokens
    outliers: pd.DataFrame  # the rows that break the majority, with the reasons
    conflicts: list[Conflict]
    system_prompts: pd.Series  # count of examples per (normalised) system prompt; "(none)" for none

    @property
    def formats(self) -> pd.Series:
        return self.features["format"].value_counts()

    def spread(self) -> pd.DataFrame:
        """Per feature: the share of turns that have it (yes/no features) or its mean, spread and range."""
        rows = {}
        for col in self.features.columns.drop(["example", "turn", "format"]):
            v = self.features[col].astype(float)
            rows[col] = {"mean": v.mean(), "std": v.std(ddof=0), "min": v.min(), "max": v.max()}
        return pd.DataFrame(rows).T

    def summary(self) -> pd.Series:
        n = len(self.features)
        top = self.formats
        return pd.Series({
            "assistant turns": n,
            "formats": len(top),
            "majority format": top.index[0] if n else None,
            "share in majority format": float(top.iloc[0] / n) if n else 0.0,
            "outliers": int(self.outliers["example"].nunique()) if len(self.outliers) else 0,
            "conflicting prompt groups": len(self.conflicts),
            "system prompts": int((self.system_prompts.index != "(none)").sum()),
            "examples without a system prompt": int(self.system_prompts.get("(none)", 0)),
        })


def report(examples: Sequence[dict], *, required: Sequence[str] = (), tokenizer=None, prompt_threshold: float = 0.9) -> ConsistencyReport:
    """Measure the format of every assistant turn of ``examples`` (valid chat examples)."""
    rows = []
    for i, e in enumerate(examples):
        for t, m in enumerate(e["messages"]):
            if m["role"] == "assistant":
                rows.append({"example": i, "turn": t, **features(m["content"], required)})
    table = pd.DataFrame(rows, columns=["example", "turn", *features("", required)])
    if tokenizer is not None:
        texts = [examples[i]["messages"][t]["content"] for i, t in zip(table["example"], table["turn"])]
        table["tokens"] = [len(enc) for enc in tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)]
    table["format"] = [format_name(r) for _, r in table.iterrows()]
    return ConsistencyReport(table, _outliers(table, required), _conflicts(examples, prompt_threshold), _system_prompts(examples))


def _outliers(table: pd.DataFrame, required: Sequence[str]) -> pd.DataFrame:
    """Turns in a minority format, with a length far outside the rest (Tukey's outer fences), or missing required fields."""
    if table.empty:
        return table.assign(reason=pd.Series(dtype=str))
    length = table["tokens"] if "tokens" in table else table["words"]
    q1, q3 = length.quantile(0.25), length.quantile(0.75)
    spread = max(q3 - q1, 0.1 * length.median())  # a floor, so that five near-equal lengths flag nothing
    low, high = q1 - 3 * spread, q3 + 3 * spread  # Tukey's "far out" fences
    majority = table["format"].mode().iloc[0]
    reasons = []
    for (_, r), n in zip(table.iterrows(), length):
        why = []
        if r["format"] != majority:
            why.append(f"format {r['format']} (most are {majority})")
        if n < low or n > high:
            why.append(f"length {n} outside {max(low, 0):.0f}-{high:.0f}")
        if required and not r["layout"]:
            why.append(f"layout: {r['fields']:.0%} of required fields" + ("" if r["fields"] < 1 else ", out of order or extra labels"))
        reasons.append("; ".join(why))
    out = table.assign(reason=reasons)
    return out[out["reason"] != ""]


def _conflicts(examples: Sequence[dict], threshold: float) -> list[Conflict]:
    prompts = [prompt_text(e) for e in examples]
    answers = [normalize(next((m["content"] for m in reversed(e["messages"]) if m["role"] == "assistant"), "")) for e in examples]
    found = []
    for c in near_duplicates(prompts, threshold):
        distinct = len({answers[i] for i in c.members})
        if distinct > 1:
            found.append(Conflict(c.members, distinct))
    return found


def _system_prompts(examples: Sequence[dict]) -> pd.Series:
    counts = Counter(
        next((normalize(m["content"]) for m in e["messages"] if m["role"] == "system"), "(none)") for e in examples
    )
    return pd.Series(dict(counts.most_common()), dtype=int, name="examples")
