"""The LandAI data sets: the clean one is all house layout; the messy one is messy in every planted way."""
import json
import subprocess
import sys
from collections import Counter

import pytest

from ftcourse import chat, consistency, dedup, world
from ftcourse.world import landai, messy


@pytest.fixture(scope="module")
def clean_examples():
    examples, report = chat.read_examples(messy.path("clean"))
    assert report.ok and not report.problems
    return examples


@pytest.fixture(scope="module")
def messy_read():
    return chat.read_examples(messy.path("messy"))


def parcel_of(example):
    return world.parcel(messy.parcel_id(example))


def test_parcel_id_reads_any_way_of_asking():
    ask = lambda text: {"messages": [{"role": "system", "content": "parcel 9999"}, {"role": "user", "content": text}]}
    assert [messy.parcel_id(ask(t)) for t in ["Summarize parcel 4412 for a buyer.", "PARCEL #1203?", "x\nparcel_id: 2001", "no id"]] == [4412, 1203, 2001, None]


def test_committed_files_match_the_seeded_generator():
    assert messy.stale() == []


def test_build_cli_writes_and_checks(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "ftcourse", "data", "build", "--out", str(tmp_path), *a], capture_output=True, text=True)
    assert run("--check").returncode == 1
    assert run().returncode == 0 and sorted(p.name for p in tmp_path.iterdir()) == sorted(messy.FILES)
    assert run("--check").returncode == 0
    assert (tmp_path / "landai_messy.jsonl").read_bytes() == messy.path("messy").read_bytes()


def test_the_clean_set_is_one_layout_with_right_facts_one_parcel_each(clean_examples):
    assert len(clean_examples) == 300
    ids = [parcel_of(e).parcel_id for e in clean_examples]
    assert len(set(ids)) == len(ids)
    for e in clean_examples:
        check = landai.check_summary(e["messages"][-1]["content"], parcel_of(e))
        assert check.layout_ok and check.facts_ok, check.problems
        assert e["messages"][0]["content"] == landai.SYSTEM_PROMPT
    assert consistency.report(clean_examples, required=landai.REQUIRED_FIELDS).summary()["formats"] == 1


def test_the_clean_parcels_stay_apart_from_the_world_file_and_the_messy_set(clean_examples, messy_read):
    clean_ids = {parcel_of(e).parcel_id for e in clean_examples}
    assert not clean_ids & {p.parcel_id for p in world.parcels(500, 0)}  # parcels.jsonl's draw
    assert not clean_ids & {parcel_of(e).parcel_id for e in messy_read[0]}


def test_the_messy_set_is_the_same_size_and_breaks_in_many_ways(messy_read):
    examples, report = messy_read
    assert report.lines == 300
    codes = set(report.summary())
    assert len(codes) >= 12 and {"not_json", "unknown_role", "unknown_key", "no_assistant", "empty_content", "blank_line"} <= codes
    assert len({p.line for p in report.errors}) >= 15
    assert len(examples) == report.lines - len({p.line for p in report.errors}) - 1  # the blank line holds no example


def test_the_messy_set_has_exact_and_near_copies(messy_read):
    examples, _ = messy_read
    texts = [dedup.conversation_text(e) for e in examples]
    exact = dedup.exact_duplicates(texts)
    near = [c for c in dedup.near_duplicates(texts) if c.kind == "near"]
    assert len(exact) >= 10 and len(near) >= 10
    variants = [texts[i] for c in exact for i in c.members]
    assert len(set(variants)) > len(exact), "some exact copies differ in case or spacing before normalising"


def test_five_writers_in_three_formats_and_drifting_system_prompts(messy_read):
    examples, _ = messy_read
    r = consistency.report(examples, required=landai.REQUIRED_FIELDS)
    families = Counter(f.split("+")[0] for f in r.features["format"])
    assert set(families) == {"heading", "prose"} and r.features["heading"].sum() > 0
    assert (r.features["bullets"] >= 2).any() and ((r.features["labels"] >= 2) & (r.features["bullets"] == 0)).any()
    assert r.summary()["system prompts"] == 4 and r.summary()["examples without a system prompt"] > 0
    assert r.features["sign_off"].mean() > 0.2
    assert len(r.conflicts) >= 10
    assert 0.2 < r.features["layout"].mean() < 0.5


def test_ben_forgets_the_flood_rule_so_some_verdicts_are_wrong(messy_read):
    examples, _ = messy_read
    bens = [(e, e["messages"][-1]["content"].split("* Verdict: ")[1]) for e in examples if "* Verdict: " in e["messages"][-1]["content"]]
    assert bens and not any("flood" in said for _, said in bens)
    assert any(parcel_of(e).flood_zone in ("A", "AE", "VE") and said.startswith("suitable") for e, said in bens)
    assert any(landai.check_summary(e["messages"][-1]["content"], parcel_of(e)).facts_ok for e in examples)


def test_every_messy_line_is_readable_text():
    text = messy.path("messy").read_text(encoding="utf-8")
    assert text.endswith("\n") and len(text.splitlines()) == 300
    assert sum(1 for line in text.splitlines() if line.startswith('{"messages"')) > 250
    json.loads(text.splitlines()[0])
