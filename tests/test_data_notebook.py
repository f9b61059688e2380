"""02-data's hidden tests catch the plausible wrong answers, not only the blank ones.

Each mutant below is a mistake a learner could make in one answer cell. The answer
cell runs with that mistake, then the named test cells, which must lose their points,
scored as nbgrader does. The exercises do not build on each other, so each mutant
runs only its own cells.
"""
from mutants import mutant_tests

HEADER_DASH = "f\"**Parcel {p.parcel_id} — Buyer Summary**\""

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    # exercise 1
    "end token not counted": ("count_trained_tokens", 'int(sum(out["assistant_masks"]))', 'int(sum(out["assistant_masks"])) - 1', {"count_trained_tokens_tests"}),
    "total is the trained count": ("count_trained_tokens", 'return len(out["input_ids"]),', 'return int(sum(out["assistant_masks"])),', {"count_trained_tokens_tests"}),
    # exercise 2
    "roles compared without case": ("message_problems", 'elif message["role"] not in', 'elif str(message["role"]).lower() not in', {"message_problems_tests"}),
    "whitespace content accepted": ("message_problems", 'elif not message["content"].strip():', 'elif not message["content"]:', {"message_problems_tests"}),
    "a null role reported missing": ("message_problems", 'if "role" not in message:', 'if message.get("role") is None:', {"message_problems_tests"}),
    "null content reported missing": ("message_problems", 'if "content" not in message:', 'if message.get("content") is None:', {"message_problems_tests"}),
    "stops at the first problem": ("message_problems", 'found.append("missing_role")', 'return ["missing_role"]', {"message_problems_tests"}),
    # exercise 3
    "lines numbered from 0": ("scan_lines", "enumerate(f, start=1)", "enumerate(f)", {"scan_lines_tests"}),
    "byte-order mark kept": ("scan_lines", 'raw.removeprefix(b"\\xef\\xbb\\xbf").decode("utf-8")', 'raw.decode("utf-8")', {"scan_lines_tests"}),
    "NaN accepted": ("scan_lines", "json.loads(text, parse_constant=reject)", "json.loads(text)", {"scan_lines_tests"}),
    "a whitespace line is not blank": ("scan_lines", "if not text.strip():", "if not text.rstrip('\\r\\n'):", {"scan_lines_tests"}),
    "any messages value accepted": ("scan_lines", 'elif not isinstance(value.get("messages"), list):', 'elif "messages" not in value:', {"scan_lines_tests"}),
    # exercise 4
    "case kept": ("drop_exact_duplicates", 'm["content"].casefold().split()', 'm["content"].split()', {"drop_exact_duplicates_tests"}),
    "whitespace only trimmed": ("drop_exact_duplicates", '" ".join(m["content"].casefold().split())', 'm["content"].casefold().strip()', {"drop_exact_duplicates_tests"}),
    "roles left out": ("drop_exact_duplicates", '[m["role"], " ".join(m["content"].casefold().split())]', '" ".join(m["content"].casefold().split())', {"drop_exact_duplicates_tests"}),
    "boundaries lost": (
        "drop_exact_duplicates",
        'json.dumps([[m["role"], " ".join(m["content"].casefold().split())] for m in example["messages"]])',
        '" ".join(m["role"] + " " + " ".join(m["content"].casefold().split()) for m in example["messages"])',
        {"drop_exact_duplicates_tests"},
    ),
    "roles without case": ("drop_exact_duplicates", '[m["role"], " ".join', '[m["role"].casefold(), " ".join', {"drop_exact_duplicates_tests"}),
    "weight in the key": ("drop_exact_duplicates", '[m["role"], " ".join(m["content"].casefold().split())]', '[m["role"], m.get("weight"), " ".join(m["content"].casefold().split())]', {"drop_exact_duplicates_tests"}),
    "the last copy kept": ("drop_exact_duplicates", "for example in examples:\n        key", "for example in examples[::-1]:\n        key", {"drop_exact_duplicates_tests"}),
    # exercise 5
    "groups sorted before the shuffle": ("split_by_parcel", "parts = list(groups.values())", "parts = [groups[k] for k in sorted(groups, key=str)]", {"split_by_parcel_tests"}),
    "no shuffle": ("split_by_parcel", "random.Random(seed).shuffle(parts)", "pass", {"split_by_parcel_tests"}),
    "the global random": ("split_by_parcel", "random.Random(seed).shuffle(parts)", "random.shuffle(parts)", {"split_by_parcel_tests"}),
    "examples without an id grouped": ("split_by_parcel", '("parcel", pid) if pid is not None else ("alone", i)', '("parcel", pid)', {"split_by_parcel_tests"}),
    "train dealt first": (
        "split_by_parcel",
        "(test if len(test) < test_fraction * len(examples) else train)",
        "(train if len(train) < (1 - test_fraction) * len(examples) else test)",
        {"split_by_parcel_tests"},
    ),
    # exercise 6
    "acres not rounded": ("data_drill", "{p.acreage:.2f} acres", "{p.acreage} acres", {"data_drill_tests"}),
    "slope with a decimal": ("data_drill", "{p.slope_pct:g}% slope", "{p.slope_pct:.1f}% slope", {"data_drill_tests"}),
    "terrain left out": ("data_drill", "% slope ({p.terrain}),", "% slope,", {"data_drill_tests"}),
    "price without separators": ("data_drill", "${p.price_usd:,} (", "${p.price_usd} (", {"data_drill_tests"}),
    "per-acre price rounded to thousands": ("data_drill", "${p.price_per_acre_usd:,} per acre", "${round(p.price_per_acre_usd, -3):,} per acre", {"data_drill_tests"}),
    "hyphen in the header": ("data_drill", HEADER_DASH, HEADER_DASH.replace("—", "-"), {"data_drill_tests"}),
    "verdict without its period": ("data_drill", 'f"- Verdict: {my_verdict(p)}."', 'f"- Verdict: {my_verdict(p)}"', {"data_drill_tests"}),
    "utilities joined with and": ("data_drill", "', '.join(p.utilities)", "' and '.join(p.utilities)", {"data_drill_tests"}),
    "another system prompt": ("data_drill", '"content": landai.SYSTEM_PROMPT}', '"content": "You are LandAI\'s report writer."}', {"data_drill_tests"}),
    "the request without the record": ("data_drill", '"content": landai.user_prompt(p)}', '"content": f"Summarize parcel {p.parcel_id} for a buyer."}', {"data_drill_tests"}),
}


def _context(cells):
    """The imports and the drill's parcel ids."""
    return [next(i for i, c in enumerate(cells) if c.cell_type == "code"),
            next(i for i, c in enumerate(cells) if c.cell_type == "code" and "DRILL_IDS =" in c.source)]


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "02-data", MUTANTS, exercises=6, context=_context, each_alone=True)
