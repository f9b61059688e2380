"""The pretraining corpus of the course's base model: general English plus the world's facts in prose.

General English is what this Python already holds offline: the docstrings of the
standard library and its language reference (``pydoc_data``), the same text for a
given Python version. The world's part teaches the model to *read* a parcel
record and talk about it (records followed by prose, verdicts argued in
sentences, questions and answers, chats answered in paragraphs), plus commit
logs and support threads.

What the corpus must never hold is what the course later teaches by
fine-tuning: LandAI's buyer-summary layout, a commit's label as an answer, a
ticket's JSON record. ``forbidden`` finds those shapes; the tests run it on
everything ``build`` makes.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import pkgutil
import random
import re
import sys
import warnings
import zlib
from dataclasses import dataclass, field, replace

from ..world.landai import branch, verdict
from ..world import commits, pretraining_parcels, tickets
from ..world.parcels import COURSE_IDS, FLOOD_RISK, ZONING, Parcel

# Modules that open windows, print on import, or are test suites rather than text.
_SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3", "ensurepip",
         "distutils", "pydoc_data"}
_DATA = (str, bytes, int, float, complex, bool, tuple, list, dict, set, frozenset, type(None))
HELD_OUT_PARCELS = 150  # the last pretraining parcels: text about them is only ever evaluated on

CHAT_SYSTEMS = ["You are a helpful assistant.", "You answer questions about land parcels.",
                "You are an assistant for people buying land. Be clear and friendly.", ""]


@dataclass
class Corpus:
    train: list[str]  # in training order: copy-dense documents first, then the rest shuffled
    heldout: dict[str, list[str]] = field(default_factory=dict)  # "general" and "world" text never trained on
    sources: dict[str, list[str]] = field(default_factory=dict)  # the distinct training documents of each kind
    parts: dict[str, int] = field(default_factory=dict)  # documents per kind, for the model card


# --- general English ---

def _quietly_import(name: str):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot load here has no text for us
            return None


def _stdlib_modules() -> list:
    modules = []
    for name in sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in _SKIP):
        module = _quietly_import(name)
        if module is None:
            continue
        modules.append(module)
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
            if not any(part in _SKIP or part.startswith("_") or part.startswith("test") for part in info.name.split(".")):
                sub = _quietly_import(info.name)
                if sub is not None:
                    modules.append(sub)
    return modules


def _documented(module) -> list[tuple[str, object]]:
    """The module, its public classes (with their public members) and functions, by qualified name."""
    found = [(module.__name__, module)]
    for key, value in inspect.getmembers(module):
        if key.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        found.append((f"{module.__name__}.{key}", value))
        if inspect.isclass(value):
            found += [(f"{module.__name__}.{key}.{attr}", member) for attr, member in sorted(vars(value).items())
                      if not attr.startswith("_")]
    return found


def general_documents() -> list[tuple[str, str]]:
    """``(module, text)`` pairs: each docstring with the name it documents, then the reference topics."""
    seen, docs = set(), []
    with warnings.catch_warnings():  # reading deprecated members (typing.io, ...) warns; we only read their text
        warnings.simplefilter("ignore")
        for module in _stdlib_modules():
            for name, obj in _documented(module):
                doc = None if isinstance(obj, _DATA) else inspect.getdoc(obj)  # a constant would lend its type's doc
                if doc and len(doc) >= 40 and doc not in seen:
                    seen.add(doc)
                    docs.append((module.__name__, f"{name}\n\n{doc}"))
    topics = _quietly_import("pydoc_data.topics")
    for key in sorted(topics.topics if topics else {}):
        docs.append((f"topic:{key}", topics.topics[key].strip()))
    return docs


# --- the world in prose ---

def _money(n: int) -> str:
    return f"${n:,}"


def _facts(p: Parcel, r: random.Random) -> list[str]:
    """One sentence per fact, each in one of several wordings.

    The slope always comes with its terrain in words: that is how a small model learns which
    numbers are steep. Without it, the model argued "a 24.1% slope ... nothing rules it out" for
    every steep parcel, and its LoRA fine-tunes got at most 1 of 5 held-out steep verdicts right.
    """
    acres, slope, terrain = f"{p.acreage:.2f}", f"{p.slope_pct:g}", p.terrain
    utilities = ", ".join(p.utilities)
    road = r.choice([f"It is reached by a {p.road_access} road.", f"Access is by a {p.road_access} road.",
                     f"A {p.road_access} road leads to the lot."]) if p.road_access != "none" else \
        r.choice(["There is no road access.", "No road reaches the parcel.", "The lot is landlocked, with no road access."])
    services = r.choice([f"Utilities available: {utilities}.", f"It has {utilities} service.",
                         f"{utilities.capitalize()} are at the lot line."]) if utilities else \
        r.choice(["No utilities are connected.", "There are no utilities on site.", "It has no water, sewer or power yet."])
    facts = [
        r.choice([f"It is zoned {p.zoning}, which means {p.zoning_name}.", f"The zoning is {p.zoning} ({p.zoning_name}).",
                  f"Its {p.zoning} zoning allows {p.zoning_name} use.", f"The county zones it {p.zoning}, {p.zoning_name}."]),
        r.choice([f"It lies in flood zone {p.flood_zone}, so the flood risk is {p.flood_risk}.",
                  f"The flood risk is {p.flood_risk} (zone {p.flood_zone}).",
                  f"Flood maps put it in zone {p.flood_zone}, where the risk of flooding is {p.flood_risk}."]),
        r.choice([f"The ground is {terrain}, a {slope}% slope, with {p.soil} soil.",
                  f"The slope is {slope}%, {terrain}, and the soil is {p.soil}.",
                  f"It is {p.soil} soil on {terrain} ground ({slope}% slope)."]),
        road, services,
        r.choice([f"The asking price is {_money(p.price_usd)}, or {_money(p.price_per_acre_usd)} per acre.",
                  f"It is listed at {_money(p.price_usd)} ({_money(p.price_per_acre_usd)} per acre).",
                  f"At {_money(p.price_usd)}, the land costs {_money(p.price_per_acre_usd)} per acre."]),
    ]
    if p.wetlands:
        facts.append(r.choice(["Part of it is wetland.", "Some of the land is wetland, which limits where you can build."]))
    if p.easements:
        kinds = ", ".join(p.easements)
        facts.append(r.choice([f"It carries easements: {kinds}.", f"Easements on record: {kinds}."]))
    return facts


def _reasoning(p: Parcel, r: random.Random) -> str:
    """The verdict argued in sentences, ending in the verdict's exact words."""
    v, slope, decided_by = verdict(p), f"{p.slope_pct:g}", branch(p)
    if decided_by == "flood":
        why = r.choice([f"Zone {p.flood_zone} is a high-risk flood zone.", f"Because it is in flood zone {p.flood_zone},",
                        f"Flood zone {p.flood_zone} means a real chance of flooding,"])
    elif decided_by == "steep":
        why = r.choice([f"Its slope of {slope}% is steep, above 15%.", f"At {slope}%, the ground is steeper than 15%,",
                        f"The flood risk is {p.flood_risk}, but the {slope}% slope is steep, over the 15% limit,"])
    elif decided_by == "no road":
        why = r.choice(["Flood risk and slope are fine, but no road reaches it,", "It has no road access,",
                        f"With zone {p.flood_zone} and a {slope}% slope the land itself is fine, but there is no road,"])
    else:
        why = r.choice([f"The flood risk is {p.flood_risk}, the {slope}% slope is {p.terrain} and it has road access,",
                        f"Zone {p.flood_zone} is not a high-risk flood zone and {slope}% is under the 15% limit,",
                        f"Nothing rules it out: zone {p.flood_zone}, a {slope}% slope, a {p.road_access} road,"])
    end = r.choice([f"so the verdict is: {v}.", f"so LandAI's verdict is {v}.", f"which makes it {v}.",
                    f"so it is {v}."])
    return f"{why} {end}" if not why.endswith(".") else f"{why} {end[0].upper()}{end[1:]}"


def _intro(p: Parcel, r: random.Random) -> str:
    acres = f"{p.acreage:.2f}"
    return r.choice([f"Parcel {p.parcel_id} is a {acres} acre lot in {p.county} County.",
                     f"Parcel {p.parcel_id} covers {acres} acres in {p.county} County.",
                     f"In {p.county} County, parcel {p.parcel_id} spans {acres} acres.",
                     f"{p.county} County parcel {p.parcel_id} has {acres} acres for sale."])


def _prose(p: Parcel, r: random.Random) -> str:
    facts = _facts(p, r)
    if r.random() < 0.3:  # mostly in the record's order, which makes reading a record easier to learn
        r.shuffle(facts)
    return " ".join([_intro(p, r), *facts, _reasoning(p, r)])


def _record_then_prose(p: Parcel, r: random.Random) -> str:
    head = r.choice(["Record:", "Parcel record", f"County record for parcel {p.parcel_id}:", "From the LandAI database:", ""])
    body = _prose(p, r) if r.random() < 0.7 else f"{_intro(p, r)} {_reasoning(p, r)}"
    return f"{head}\n{p.record()}\n\n{body}".strip()


def _earlier(p: Parcel, r: random.Random) -> tuple[Parcel, list[str]]:
    """The parcel as an older record had it, with what changed since, in words."""
    changes: dict = {}
    said = []
    for what in r.sample(["price", "zoning", "road", "utilities", "flood"], r.randint(1, 2)):
        if what == "price":
            old = max(1000, round(p.price_usd * r.uniform(0.8, 1.25), -3))
            if old != p.price_usd:
                changes["price_usd"] = int(old)
                said.append(f"The price went from {_money(int(old))} to {_money(p.price_usd)}.")
        elif what == "zoning":
            old = r.choice([z for z in ZONING if z != p.zoning])
            changes["zoning"] = old
            said.append(f"It was rezoned from {old} to {p.zoning} ({p.zoning_name}).")
        elif what == "road" and p.road_access in ("paved", "gravel"):
            old = {"paved": "gravel", "gravel": "dirt"}[p.road_access]
            changes["road_access"] = old
            said.append(f"The {old} road was upgraded to a {p.road_access} road.")
        elif what == "utilities" and p.utilities:
            changes["utilities"] = p.utilities[:-1]
            said.append(f"{p.utilities[-1].capitalize()} service was connected.")
        elif what == "flood":
            old = r.choice([z for z in FLOOD_RISK if z != p.flood_zone])
            changes["flood_zone"] = old
            said.append(f"The new flood map moved it from zone {old} to zone {p.flood_zone}.")
    return replace(p, **changes), said


def _update(p: Parcel, r: random.Random) -> str:
    """A records-office change log: the old record, the new one, and what changed (mostly copying)."""
    old, said = _earlier(p, r)
    if not said:
        return _record_then_prose(p, r)
    return (f"Record update for parcel {p.parcel_id}, {p.county} County\n\nbefore:\n{old.record()}\n\n"
            f"after:\n{p.record()}\n\n{' '.join(said)} {_reasoning(p, r)}")


def _listing(ps: list[Parcel], r: random.Random) -> str:
    """Several records, then a line about each: finding the right record is part of the task."""
    records = "\n\n".join(p.record() for p in ps)
    lines = [f"Parcel {p.parcel_id}: {p.acreage:.2f} acres, zoned {p.zoning}, flood zone {p.flood_zone}, "
             f"{_money(p.price_usd)}; {verdict(p)}." for p in r.sample(ps, len(ps))]
    head = r.choice(["New listings this week:", "Parcels on the agenda of the planning board:", "Search results:"])
    return f"{head}\n\n{records}\n\n" + "\n".join(lines)


def _sync_log(ps: list[Parcel], r: random.Random) -> str:
    """A records-office sync check: rows sent, the same rows returned. Dense copying of ids and values,
    which is how a small model first learns to look back and copy (induction)."""
    rows = [f"{p.parcel_id}  {p.zoning}  {p.flood_zone}  {_money(p.price_usd)}" for p in ps]
    returned = list(rows)
    note = f"All {len(rows)} rows match."
    if r.random() < 0.2:
        i = r.randrange(len(rows))
        p = ps[i]
        wrong = _money(p.price_usd + r.choice([-1, 1]) * 1000)
        returned[i] = f"{p.parcel_id}  {p.zoning}  {p.flood_zone}  {wrong}"
        note = f"Row {i + 1} differs: parcel {p.parcel_id} came back as {wrong} instead of {_money(p.price_usd)}."
    batch = r.randint(100, 999)
    return (f"Sync check, batch {batch}, {ps[0].county} County recorder\n\nsent:\n" + "\n".join(rows)
            + "\n\nreturned:\n" + "\n".join(returned) + f"\n\n{note}")


def _questions(p: Parcel, r: random.Random) -> str:
    pairs = [
        (f"What is parcel {p.parcel_id} zoned?", f"{p.zoning}, {p.zoning_name}."),
        ("What is the flood risk?", f"{p.flood_risk.capitalize()}: it is in zone {p.flood_zone}."),
        ("How steep is it?", f"The slope is {p.slope_pct:g}%, {p.terrain}."),
        ("How much does it cost?", f"{_money(p.price_usd)}, which is {_money(p.price_per_acre_usd)} per acre."),
        ("Can I build on it?", _reasoning(p, r)),
    ]
    chosen = r.sample(pairs, r.randint(2, len(pairs)))
    qa = "\n".join(f"Q: {q}\nA: {a}" for q, a in chosen)
    return f"{p.record()}\n\n{qa}" if r.random() < 0.6 else qa


def _comparison(a: Parcel, b: Parcel, r: random.Random) -> str:
    cheaper = a if a.price_per_acre_usd < b.price_per_acre_usd else b
    return (f"{_prose(a, r)}\n\nCompare parcel {b.parcel_id}. {' '.join(_facts(b, r)[:3])} {_reasoning(b, r)} "
            f"Per acre, parcel {cheaper.parcel_id} is the cheaper of the two.")


def _chat(p: Parcel, r: random.Random) -> list[dict]:
    ask = r.choice([f"Tell me about parcel {p.parcel_id}.", f"Describe parcel {p.parcel_id} for a buyer.",
                    f"Is parcel {p.parcel_id} a good place to build?", f"Summarize parcel {p.parcel_id} for a buyer.",
                    f"What should I know before buying parcel {p.parcel_id}?"])
    system = r.choice(CHAT_SYSTEMS)
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": f"{ask}\n\nRecord:\n{p.record()}" if r.random() < 0.85 else ask})
    messages.append({"role": "assistant", "content": _prose(p, r)})
    return messages


def _rules(r: random.Random) -> str:
    sentences = [
        r.choice(["LandAI checks the flood zone first.", "The first question is always the flood zone."]),
        r.choice(["A parcel in zone A, AE or VE is not recommended for building: high flood risk.",
                  "Zones A, AE and VE carry high flood risk, so such land is not recommended for building."]),
        r.choice(["Next comes the slope: above 15%, the verdict is not recommended for building: steep terrain.",
                  "Land steeper than 15% is not recommended for building: steep terrain."]),
        r.choice(["Without road access, a parcel is buildable only after securing road access.",
                  "If no road reaches it, it is buildable only after securing road access."]),
        r.choice(["Otherwise the zoning decides: R zones are suitable for residential development, C zones for "
                  "commercial development, AG for agriculture or a rural homestead, I-1 for light industrial use "
                  "and MU for mixed-use development.",
                  "When all of that is fine, the zoning code says what the land suits: residential development for "
                  "R-1, R-2 and R-3; commercial development for C-1 and C-2; agriculture or a rural homestead for AG; "
                  "light industrial use for I-1; mixed-use development for MU."]),
    ]
    return " ".join(sentences)


def _git_log(batch, r: random.Random) -> str:
    style = r.random()
    if style < 0.35:
        return "\n".join(f"{c.sha[:7]} {c.subject}" for c in batch)
    entries = []
    for c in batch:
        login = c.author.split()[0].lower().replace("[bot]", "")
        message = "\n".join(("    " + line).rstrip() for line in c.message.splitlines())
        entries.append(f"commit {c.sha}\nAuthor: {c.author} <{login}@landai.dev>\nDate:   {c.date}\n\n{message}\n")
    return "\n".join(entries)


def world_documents(ps: list[Parcel], n_commits: int, n_tickets: int, seed: int, render_chat) -> dict[str, list[str]]:
    """Prose about the parcels ``ps``, commit logs and support threads, by kind."""
    r = random.Random(f"corpus:{seed}")
    kinds: dict[str, list[str]] = {"record and prose": [], "record update": [], "listing": [], "sync log": [], "prose": [],
                                   "questions": [], "comparison": [], "chat": [], "rules": [], "commit log": [],
                                   "ticket": []}
    for i, p in enumerate(ps):
        kinds["record and prose"].append(_record_then_prose(p, r))
        kinds["record update"].append(_update(p, r))
        if r.random() < 0.5:
            kinds["prose"].append(_prose(p, r))
        if i % 3 == 2:
            kinds["listing"].append(_listing(ps[i - 2:i + 1], r))
        if i % 2 == 1:
            kinds["sync log"].append(_sync_log(r.sample(ps, r.randint(10, 24)), r))
        roll = r.random()
        if roll < 0.4:
            kinds["questions"].append(_questions(p, r))
        elif roll < 0.7:
            kinds["chat"].append(render_chat(_chat(p, r)))
        elif roll < 0.8:
            kinds["comparison"].append(_comparison(p, ps[(i * 7 + 3) % len(ps)], r))
        if r.random() < 0.3:
            kinds["record and prose"].append(_record_then_prose(p, r))
    kinds["rules"] = [_rules(r) for _ in range(len(ps) // 20)]
    log = commits(n_commits, seed=seed)
    i = 0
    while i < len(log):
        size = r.randint(4, 12)
        kinds["commit log"].append(_git_log(log[i:i + size], r))
        i += size
    kinds["ticket"] = [f"Ticket {t.ticket_id}\n\n{t.thread}" for t in tickets(n_tickets, seed=seed)
                       if t.record["parcel_id"] not in COURSE_IDS]  # no course parcel is ever named in pretraining
    return kinds


def _is_held_out(module: str) -> bool:
    return zlib.crc32(module.encode()) % 20 == 0  # about 5% of modules and topics, chosen by name


def build(render_chat, *, scale: float = 1.0, seed: int = 0, general_repeats: int = 3) -> Corpus:
    """The whole corpus. ``render_chat`` turns messages into text (the tokenizer's chat template).

    ``scale`` shrinks the world part and thins general English (``--smoke`` uses a
    tiny corpus). Held-out text is about other parcels, commits and tickets than the
    training text, and comes from other standard-library modules.
    """
    n = max(40, int(4850 * scale))
    ps = pretraining_parcels(n + HELD_OUT_PARCELS, seed=seed)
    kinds = world_documents(ps[:n], int(8000 * scale) + 40, int(2500 * scale) + 20, 1000 + seed, render_chat)
    held = world_documents(ps[n:], 240, 80, 2000 + seed, render_chat)
    general = general_documents()
    general_train = [text for module, text in general if not _is_held_out(module)]
    if scale < 1:
        general_train = general_train[:: max(1, int(1 / scale))]
    world = [doc for docs in kinds.values() for doc in docs]
    shuffle = random.Random(f"shuffle:{seed}").shuffle
    # Curriculum: the stream opens with the copy-dense documents (every sync log, as many record updates),
    # so the model learns to look back and copy before anything else; the rest follows shuffled.
    first = kinds["sync log"] + kinds["record update"][: len(kinds["sync log"])]
    opening = set(first)
    rest = [doc for doc in world if doc not in opening] + general_train * general_repeats
    shuffle(first)
    shuffle(rest)
    train = first + rest
    parts = {kind: len(docs) for kind, docs in kinds.items()} | {"stdlib docs and reference topics": len(general_train)}
    return Corpus(
        train=train,
        heldout={"general": [text for module, text in general if _is_held_out(module)],
                 "world": [doc for kind, docs in held.items() if kind != "rules" for doc in docs]},
        sources={"general": general_train, "world": world},
        parts=parts,
    )


FORBIDDEN = {
    "buyer-summary header": re.compile(r"Buyer Summary|\*\*Parcel \d+", re.I),
    "buyer-summary bullet": re.compile(
        r"^\s*[-*•]?\s*\**(Zoning|Flood risk|Size and terrain|Access and utilities|Price|Verdict)\**\s*:", re.M),
    "commit label answer": re.compile(r"\b(label|class|category|type)\b\W{0,3}\s*[:=]\s*\W?(feat|fix|chore)\b"
                                      r"|^\s*\W?(feat|fix|chore)\W?\s*$", re.I | re.M),
    "ticket JSON": re.compile(r"\"(category|priority|refund_requested|parcel_id|plan|customer)\"\s*:"),
}


def forbidden(text: str) -> list[str]:
    """Which of the fine-tuning target shapes appear in ``text`` (empty when none)."""
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(text)]
