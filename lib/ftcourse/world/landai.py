"""LandAI's report writer: the fine-tuning task the course returns to.

A buyer asks about a parcel; retrieval puts the parcel's record in the prompt;
the model must answer in LandAI's one house layout, copy the facts faithfully
and apply the verdict rule. Prompting alone gets the layout right only some of
the time; that gap is what fine-tuning closes.

The verdict rule, first match wins:

1. flood zone A, AE or VE -> "not recommended for building: high flood risk"
2. slope above 15%        -> "not recommended for building: steep terrain"
3. no road access         -> "buildable only after securing road access"
4. otherwise by zoning: R-* residential, C-* commercial, AG agriculture or a
   rural homestead, I-1 light industrial use, MU mixed-use development.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .parcels import HIGH_FLOOD_ZONES, Parcel

SYSTEM_PROMPT = (
    "You are LandAI's report writer. Read the parcel record you are given and write "
    "a short buyer summary in LandAI's house format, using only facts from the record."
)

REQUIRED_FIELDS = ("Zoning", "Flood risk", "Size and terrain", "Access and utilities", "Price", "Verdict")

_USES = {"R": "residential development", "C": "commercial development", "AG": "agriculture or a rural homestead",
         "I": "light industrial use", "MU": "mixed-use development"}
_HEADER = re.compile(r"\*\*Parcel (\d+) — Buyer Summary\*\*")


BRANCHES = ("flood", "steep", "no road", "zoning")  # the verdict rule's branches, in the order they are tried
_RULED_OUT = {"flood": "not recommended for building: high flood risk",
              "steep": "not recommended for building: steep terrain",
              "no road": "buildable only after securing road access"}


def branch(parcel: Parcel) -> str:
    """Which branch of the verdict rule decides this parcel (one of ``BRANCHES``): the first that applies."""
    if parcel.flood_zone in HIGH_FLOOD_ZONES:
        return "flood"
    if parcel.slope_pct > 15:
        return "steep"
    if parcel.road_access == "none":
        return "no road"
    return "zoning"


def covering(pool: list[Parcel], n: int, at_least: int) -> list[Parcel]:
    """The first ``n`` parcels of ``pool`` that leave room for ``at_least`` of every branch of the rule.

    A random draw is the world's mix: 200 parcels hold about 13 steep ones and 7 landlocked ones,
    too few to learn those branches from. This one is the same draw until the slots left are owed
    to a branch still short, and then takes only that branch's parcels, in the pool's order.
    """
    chosen: list[Parcel] = []
    count = Counter()
    for p in pool:
        owed = sum(max(0, at_least - count[b]) for b in BRANCHES)
        if count[branch(p)] < at_least or n - len(chosen) > owed:
            chosen.append(p)
            count[branch(p)] += 1
            if len(chosen) == n:
                return chosen
    raise ValueError(f"{len(pool)} parcels hold too few of some branch for {n} with at least {at_least} of each: "
                     f"{dict(count)}")


def verdict(parcel: Parcel) -> str:
    """The verdict bullet's text (without the final period), by the rule in the module docstring."""
    decided_by = branch(parcel)
    return _RULED_OUT.get(decided_by) or "suitable for " + _USES[parcel.zoning.split("-")[0]]


def user_prompt(parcel: Parcel) -> str:
    """The buyer's request with the retrieved record appended."""
    return f"Summarize parcel {parcel.parcel_id} for a buyer.\n\nRecord:\n{parcel.record()}"


def _bullets(parcel: Parcel) -> dict[str, str]:
    road = "no road access" if parcel.road_access == "none" else f"{parcel.road_access} road"
    utilities = ", ".join(parcel.utilities) or "no utilities"
    return {
        "Zoning": f"{parcel.zoning} ({parcel.zoning_name})",
        "Flood risk": f"{parcel.flood_risk} (zone {parcel.flood_zone})",
        "Size and terrain": f"{parcel.acreage:.2f} acres, {parcel.slope_pct:g}% slope ({parcel.terrain}), {parcel.soil} soil",
        "Access and utilities": f"{road}; {utilities}",
        "Price": f"${parcel.price_usd:,} (${parcel.price_per_acre_usd:,} per acre)",
        "Verdict": verdict(parcel) + ".",
    }


def buyer_summary(parcel: Parcel) -> str:
    """The target answer: a bold header, then the six labelled bullets in order."""
    lines = [f"**Parcel {parcel.parcel_id} — Buyer Summary**"]
    lines += [f"- {label}: {value}" for label, value in _bullets(parcel).items()]
    return "\n".join(lines)


def conversation(parcel: Parcel) -> dict:
    """One training example in chat JSONL form."""
    return {"messages": [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_prompt(parcel)},
        {"role": "assistant", "content": buyer_summary(parcel)},
    ]}


@dataclass
class SummaryCheck:
    layout_ok: bool  # the header and the six labelled bullets in order, nothing else
    facts_ok: bool  # zoning code, flood zone and verdict agree with the record
    fields: dict[str, bool] = field(default_factory=dict)  # header and each bullet: exactly as the target
    facts: dict[str, bool] = field(default_factory=dict)  # "zoning", "flood zone", "verdict": each as the record has it
    problems: list[str] = field(default_factory=list)


def _find(lines: list[str], label: str) -> str | None:
    for line in lines:
        m = re.match(rf"\s*[-*•]?\s*\**{re.escape(label)}\**:\s*(.*)$", line)
        if m:
            return m.group(1).strip()
    return None


def check_summary(text: str, parcel: Parcel) -> SummaryCheck:
    """Grade one answer against the parcel's record.

    Facts are read leniently (a bullet found anywhere, any bullet mark), so a
    reply can get the facts right with the layout wrong, and the other way round.
    """
    lines = text.strip().splitlines()
    problems = []
    expected = _bullets(parcel)

    header = _HEADER.fullmatch(lines[0].strip()) if lines else None
    layout_ok = header is not None and len(lines) == 1 + len(REQUIRED_FIELDS)
    if header is None:
        problems.append("the first line is not the bold header '**Parcel N — Buyer Summary**'")
    for i, label in enumerate(REQUIRED_FIELDS, start=1):
        if i >= len(lines) or not lines[i].startswith(f"- {label}: ") or not lines[i][len(label) + 4:].strip():
            layout_ok = False
            problems.append(f"line {i + 1} should be the bullet '- {label}: ...'")
    if len(lines) > 1 + len(REQUIRED_FIELDS):
        problems.append(f"{len(lines) - 1 - len(REQUIRED_FIELDS)} line(s) after the six bullets")

    found = {label: _find(lines, label) for label in REQUIRED_FIELDS}
    fields = {"header": header is not None and header.group(1) == str(parcel.parcel_id)}
    fields |= {label: found[label] == expected[label] for label in REQUIRED_FIELDS}

    zoning = re.match(r"([A-Z]+(?:-\d)?)\b", found["Zoning"] or "")
    flood = re.search(r"\(zone ([A-Z0-9]+)\)", found["Flood risk"] or "")
    said = (found["Verdict"] or "").rstrip(".").strip().lower()
    facts = {
        "zoning": bool(zoning) and zoning.group(1) == parcel.zoning,
        "flood zone": bool(flood) and flood.group(1) == parcel.flood_zone,
        "verdict": said == verdict(parcel),
    }
    problems += [f"the {name} does not match the record" for name, ok in facts.items() if not ok]
    return SummaryCheck(layout_ok=layout_ok, facts_ok=all(facts.values()), fields=fields, facts=facts, problems=problems)


@dataclass
class Scores:
    layout_rate: float
    facts_rate: float
    replies: list[str]
    checks: list[SummaryCheck]


def tally(parcels: list[Parcel], checks: list[SummaryCheck]) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    """(right, asked) per fact, the verdict per branch of its rule; and how many replies have each bullet exactly right.

    A facts rate of 80% says little until it says which fact, on which parcels.
    """
    right, asked = Counter(), Counter()
    for p, check in zip(parcels, checks):
        for fact, ok in check.facts.items():
            name = f"verdict, {branch(p)}" if fact == "verdict" else fact
            asked[name] += 1
            right[name] += ok
    order = ["zoning", "flood zone", *(f"verdict, {b}" for b in BRANCHES)]
    fields = Counter(name for check in checks for name, ok in check.fields.items() if ok)
    return ({name: (right[name], asked[name]) for name in order if asked[name]},
            {name: fields[name] for name in ("header", *REQUIRED_FIELDS)})


def evaluate(model, tokenizer, parcels: list[Parcel], *, max_new_tokens: int = 160) -> Scores:
    """Ask the model for a buyer summary of each parcel (greedy) and grade every reply."""
    from ..train import generate_many

    replies = generate_many(model, tokenizer, [conversation(p)["messages"] for p in parcels], max_new_tokens)
    checks = [check_summary(text, p) for text, p in zip(replies, parcels)]
    n = max(len(checks), 1)
    return Scores(sum(c.layout_ok for c in checks) / n, sum(c.facts_ok for c in checks) / n, replies, checks)
