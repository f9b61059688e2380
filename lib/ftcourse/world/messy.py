"""The LandAI training sets: one curated, one as a team really collects it.

``clean`` is a few hundred conversations in LandAI's one house layout
(``ftcourse.world.landai.conversation``). ``messy`` is a file of the same size written
as if by five people in three formats: Ana writes the house layout, Ben a looser
bullet list that drops fields and forgets the flood rule, Chloe and Dev prose
(Dev signs his), Eve a Markdown report with bold labels. Each also has their own
system prompt and way of asking. Mixed in are exact copies (verbatim, re-spaced
or re-cased), near-copies (a word changed, a sentence added), parcels answered
twice by different people, and broken lines, one of each kind the validator knows.
Both files are committed as JSONL and rebuilt by ``ftcourse data build``.
"""
from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from . import Parcel, landai, parcels
from .files import DATA_DIR

CLEAN_SEED, MESSY_SEED = 2, 3


def _reserved() -> list[int]:
    """Parcels these sets never use: those of the world's parcels.jsonl (500 drawn with seed 0), kept for evals."""
    return [p.parcel_id for p in parcels(500, 0)]


def clean(n: int = 300, seed: int = CLEAN_SEED) -> list[dict]:
    """``n`` conversations in the house layout, one per parcel."""
    return [landai.conversation(p) for p in parcels(n, seed, exclude=_reserved())]


_PARCEL = re.compile(r"parcel\D{0,5}?(\d{4})\b", re.IGNORECASE)


def parcel_id(example: dict) -> int | None:
    """Which parcel an example is about: the first "parcel 4412" (or "parcel_id: 4412") its user turns name."""
    for m in example["messages"]:
        if m.get("role") == "user" and isinstance(m.get("content"), str) and (found := _PARCEL.search(m["content"])):
            return int(found.group(1))
    return None


# ---- five writers ---------------------------------------------------------------

def _ana(p: Parcel, rng: random.Random) -> str:
    return landai.buyer_summary(p)


def _ben(p: Parcel, rng: random.Random) -> str:
    """Ben never applies the flood rule: his verdicts read every parcel as if it were in zone X."""
    lines = [f"**Parcel {p.parcel_id}**", f"* Zoning: {p.zoning}", f"* Flood: zone {p.flood_zone}",
             f"* Size: {p.acreage:g} ac, {p.slope_pct:g}% slope", f"* Access: {p.road_access}"]
    if rng.random() < 0.6:
        lines.append(f"* Price: ${p.price_usd:,}")
    lines.append(f"* Verdict: {landai.verdict(replace(p, flood_zone='X'))}")
    return "\n".join(lines)


def _chloe(p: Parcel, rng: random.Random) -> str:
    utilities = ", ".join(p.utilities) or "no utilities"
    return (f"Parcel {p.parcel_id} is a {p.acreage:.2f}-acre {p.zoning_name} lot ({p.zoning}) in {p.county} County. "
            f"It lies in flood zone {p.flood_zone}, so the flood risk is {p.flood_risk}. The ground has a {p.slope_pct:g}% slope "
            f"and {p.soil} soil, with {p.road_access if p.road_access != 'none' else 'no'} road access and {utilities}. "
            f"It is listed at ${p.price_usd:,}. In short: {landai.verdict(p)}.")


def _dev(p: Parcel, rng: random.Random) -> str:
    opener = rng.choice(["Thanks for asking about this one!", "Happy to take a look.", "Here's my read on it."])
    wet = " There are wetlands on site, which can slow permits." if p.wetlands else ""
    return (f"{opener} Parcel {p.parcel_id} is zoned {p.zoning} and sits in flood zone {p.flood_zone} "
            f"({p.flood_risk} risk). It's about {p.acreage:.1f} acres with a {p.slope_pct:g}% grade and {p.soil} soil.{wet}\n\n"
            f"Access is by {p.road_access} road. Asking price is ${p.price_usd:,}, roughly ${p.price_per_acre_usd:,} an acre. "
            f"My verdict: {landai.verdict(p)}.\n\nBest,\nDev")


def _eve(p: Parcel, rng: random.Random) -> str:
    return (f"## Parcel {p.parcel_id} ({p.county} County)\n\n**Zoning:** {p.zoning} — {p.zoning_name}\n"
            f"**Flood:** zone {p.flood_zone}, {p.flood_risk} risk\n**Land:** {p.acreage:.2f} acres, {p.slope_pct:g}% slope, {p.soil}\n"
            f"**Price:** ${p.price_usd:,}\n\n**Bottom line:** {landai.verdict(p)}.\n\nHope this helps!")


@dataclass(frozen=True)
class Writer:
    name: str
    share: float
    system: str | None
    ask: Callable[[Parcel], str]
    answer: Callable[[Parcel, random.Random], str]


WRITERS = (
    Writer("Ana", 0.30, landai.SYSTEM_PROMPT, landai.user_prompt, _ana),
    Writer("Ben", 0.20, "You are LandAI's report writer. Write a short buyer summary.", landai.user_prompt, _ben),
    Writer("Chloe", 0.20, None, lambda p: f"write up parcel {p.parcel_id} for a client pls\n\nRecord:\n{p.record()}", _chloe),
    Writer("Dev", 0.15, "You are a helpful assistant.", lambda p: f"Parcel {p.parcel_id} — buyer summary?\n\n{p.record()}", _dev),
    Writer("Eve", 0.15, "You are LandAI's report writer. Be friendly!", landai.user_prompt, _eve),
)


def example(w: Writer, p: Parcel, rng: random.Random) -> dict:
    """The conversation writer ``w`` would have written about parcel ``p``."""
    system = [{"role": "system", "content": w.system}] if w.system else []
    return {"messages": system + [{"role": "user", "content": w.ask(p)}, {"role": "assistant", "content": w.answer(p, rng)}]}


# ---- copies and breakage ----------------------------------------------------------

def _verbatim(e: dict, rng: random.Random) -> dict:
    return json.loads(json.dumps(e))


def _respaced(e: dict, rng: random.Random) -> dict:
    m = json.loads(json.dumps(e))
    m["messages"][-1]["content"] = m["messages"][-1]["content"].replace(" ", "  ", 3) + "\n"
    return m


def _recased(e: dict, rng: random.Random) -> dict:
    m = json.loads(json.dumps(e))
    user = next(t for t in m["messages"] if t["role"] == "user")
    user["content"] = user["content"][0].swapcase() + user["content"][1:].lower() if rng.random() < 0.5 else user["content"].upper()
    return m


def _edited(e: dict, rng: random.Random) -> dict:
    m = json.loads(json.dumps(e))
    answer = m["messages"][-1]
    words = answer["content"].split(" ")
    if rng.random() < 0.5 and len(words) > 8:
        i = rng.randrange(2, len(words) - 1)
        words[i] = rng.choice(["the", "a", "quite", "very", "this"])
        answer["content"] = " ".join(words)
    else:
        answer["content"] += rng.choice([" Call us with questions.", " Prices change, so check again.", " See the record."])
    return m


_SAMPLE = {"messages": [{"role": "user", "content": "Summarize parcel 1234 for a buyer."},
                        {"role": "assistant", "content": "**Parcel 1234 — Buyer Summary**"}]}


def _broken(good: dict) -> list[str]:
    """One line of every kind of breakage, made from a real example so it reads like the rest."""
    line = json.dumps(good, ensure_ascii=False)
    msgs = good["messages"]
    user, answer = msgs[-2], msgs[-1]

    def with_messages(ms, **top):
        return json.dumps({"messages": ms, **top}, ensure_ascii=False)

    return [
        line[: len(line) * 2 // 3],  # cut off mid-line
        repr(_SAMPLE),  # a Python dict, not JSON
        line[:-2] + "},]}",  # a trailing comma
        with_messages([user]),  # nobody answered
        with_messages([user, answer, {"role": "user", "content": "Thanks! And the taxes?"}]),  # ends on the user
        with_messages([user, {**answer, "role": "Assistant"}]),
        with_messages([user, {"role": "assistant", "contnet": answer["content"]}]),
        with_messages([user, {"role": "assistant", "content": ""}]),
        with_messages([user, {"role": "assistant", "content": None}]),
        with_messages([user, {**answer, "weight": 2}]),
        with_messages([user, {"role": "system", "content": landai.SYSTEM_PROMPT}, answer]),
        json.dumps({"messages": {"user": user["content"], "assistant": answer["content"]}}, ensure_ascii=False),
        json.dumps([{"messages": [user, answer]}], ensure_ascii=False),
        json.dumps({"message": [user, answer]}, ensure_ascii=False),
        with_messages([{"role": "user", "content": [{"type": "text", "text": user["content"]}]}, answer]),
        with_messages([user, answer], writer="ben"),
        with_messages([user, {"role": "assistant", "content": "   \n"}]),
        with_messages([user, {**answer, "role": "bot"}]),
        with_messages([user, user, answer]),  # a warning only: the line is kept
        "",  # a blank line: a warning only
    ]


def messy(n: int = 300, seed: int = MESSY_SEED) -> list[str]:
    """``n`` lines of JSONL as five writers left them, copies and broken lines included."""
    rng = random.Random(f"messy:{seed}")
    n_exact, n_near, n_twice = n * 6 // 100, n * 5 // 100, n * 4 // 100
    n_base = n - n_exact - n_near - n_twice - len(_broken(_SAMPLE))
    exclude = _reserved() + [p.parcel_id for p in parcels(300, CLEAN_SEED, exclude=_reserved())]
    pool = parcels(n_base, seed, exclude=exclude)
    writers = rng.choices(WRITERS, weights=[w.share for w in WRITERS], k=n_base)
    base = [example(w, p, rng) for w, p in zip(writers, pool)]
    rows: list[dict | str] = list(base)
    for k, i in enumerate(rng.sample(range(n_base), n_exact)):
        rows.append([_verbatim, _respaced, _recased][k % 3](base[i], rng))
    for i in rng.sample(range(n_base), n_near):
        rows.append(_edited(base[i], rng))
    for i in rng.sample(range(n_base), n_twice):  # the same request, answered again by someone else
        other = rng.choice([w for w in WRITERS if w is not writers[i]])
        e = example(other, pool[i], rng)
        e["messages"][-2]["content"] = base[i]["messages"][-2]["content"]
        rows.append(e)
    rows += _broken(rng.choice(base))
    rng.shuffle(rows)
    return [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]


# ---- the committed files ----------------------------------------------------------

FILES: dict[str, Callable[[], list[str]]] = {
    "landai_clean.jsonl": lambda: [json.dumps(e, ensure_ascii=False) for e in clean()],
    "landai_messy.jsonl": messy,
}


def render(name: str) -> str:
    return "".join(line + "\n" for line in FILES[name]())


def build(out_dir: Path = DATA_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (out_dir / name).write_text(render(name), encoding="utf-8")
    return [out_dir / name for name in FILES]


def stale(data_dir: Path = DATA_DIR) -> list[str]:
    """Files that are missing or differ from what the generators make now."""
    return [n for n in FILES if not (data_dir / n).is_file() or (data_dir / n).read_text(encoding="utf-8") != render(n)]


def path(name: str) -> Path:
    """Where a committed data set lives: ``path("messy")`` is the messy LandAI file."""
    return DATA_DIR / f"landai_{name}.jsonl"
