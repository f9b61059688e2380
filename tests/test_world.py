"""The course world: same seed, same data; labels that hold; messages that read like real ones."""
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from command import ftcourse
from ftcourse.world import commits, parcel, parcels, pretraining_parcels, tickets
from ftcourse.world.parcels import COURSE_IDS, FLOOD_RISK, PRETRAINING_IDS, ROAD_ACCESS, UTILITIES, ZONING, Parcel, zoning_in

FINGERPRINT = (
    "import json, hashlib\n"
    "from ftcourse.world import parcels, commits, tickets\n"
    "data = [p.to_dict() for p in parcels(40, seed=7)] + [c.to_dict() for c in commits(60, seed=7)]"
    " + [t.to_dict() for t in tickets(30, seed=7)]\n"
    "print(hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest())\n"
)


def test_same_seed_same_data_in_fresh_processes_with_different_hash_seeds():
    digests = {
        subprocess.run([sys.executable, "-c", FINGERPRINT], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": str(h), "PATH": ""}).stdout
        for h in (0, 1, 12345)
    }
    assert len(digests) == 1


def test_seeds_choose_different_parcels_and_a_parcel_is_the_same_everywhere():
    a, b = parcels(100, seed=0), parcels(100, seed=1)
    assert [p.parcel_id for p in a] != [p.parcel_id for p in b]
    shared = {p.parcel_id for p in a} & {p.parcel_id for p in b}
    by_id = {p.parcel_id: p for p in b}
    assert all(p == by_id[p.parcel_id] for p in a if p.parcel_id in shared)
    assert parcels(30, seed=4) == parcels(60, seed=4)[:30], "a bigger draw starts with the smaller one"
    assert parcel(a[0].parcel_id) == a[0]


def test_parcel_ids_are_distinct_and_course_and_pretraining_never_meet():
    course = parcels(len(COURSE_IDS))
    assert len({p.parcel_id for p in course}) == len(COURSE_IDS)
    assert all(p.parcel_id in COURSE_IDS for p in course)
    assert all(p.parcel_id in PRETRAINING_IDS for p in pretraining_parcels(500))
    with pytest.raises(ValueError, match="only 4000 parcels"):
        parcels(len(COURSE_IDS) + 1)


def test_exclude_leaves_parcels_out():
    held_out = parcels(50, seed=9)
    rest = parcels(200, seed=3, exclude=[p.parcel_id for p in held_out])
    assert not {p.parcel_id for p in rest} & {p.parcel_id for p in held_out}
    assert len(rest) == 200


def test_parcel_values_are_in_their_domains_and_round_trip():
    for p in parcels(500, seed=2):
        assert p.zoning in ZONING and p.flood_zone in FLOOD_RISK and p.road_access in ROAD_ACCESS
        assert set(p.utilities) <= set(UTILITIES) and list(p.utilities) == [u for u in UTILITIES if u in p.utilities]
        assert p.acreage > 0 and 0 <= p.slope_pct < 40 and p.price_usd > 0
        assert not 14.5 < p.slope_pct < 15.5, "no slope sits on the 15% verdict threshold"
        assert Parcel.from_dict(json.loads(json.dumps(p.to_dict()))) == p
        record = dict(line.split(": ", 1) for line in p.record().splitlines())
        assert record["zoning"] == p.zoning and record["flood_zone"] == p.flood_zone
        assert record["price"] == f"${p.price_usd:,}" and float(record["acreage"]) == p.acreage
        assert float(record["slope"].rstrip("%")) == p.slope_pct


def test_terrain_says_steep_exactly_where_the_verdict_rule_does():
    from ftcourse.world.landai import branch

    for p in parcels(1000, seed=4):
        assert (p.terrain == "steep") == (p.slope_pct > 15)
        assert (p.terrain == "steep") == (branch(p) == "steep") or branch(p) == "flood"
    words = {p.slope_pct: p.terrain for p in parcels(1000, seed=4)}
    assert words[1.0] == "flat" and words[2.0] == "gently sloping" and words[6.0] == "moderately sloping"


def test_every_verdict_case_occurs_often_enough_to_learn():
    from ftcourse.world.landai import verdict

    counts = Counter(verdict(p) for p in parcels(1000))
    assert len(counts) == 8
    assert min(counts.values()) >= 20, counts


def test_commit_labels_are_balanced_and_deterministic():
    cs = commits(1500)
    assert cs[:100] == commits(100)
    assert commits(50, seed=1) != commits(50, seed=0)
    counts = Counter(c.label for c in cs)
    assert set(counts) == {"feat", "fix", "chore"}
    assert min(counts.values()) > 0.25 * len(cs)
    assert 0.08 < sum(c.ambiguous for c in cs) / len(cs) < 0.3


def test_commit_messages_vary_like_real_histories():
    cs = commits(1500)
    subjects = [c.subject for c in cs]
    assert len(set(subjects)) > 0.8 * len(cs), "few repeated subjects"
    assert len({c.author for c in cs}) >= 10 and len({c.repo for c in cs}) >= 5
    assert 0.2 < sum("\n" in c.message for c in cs) / len(cs) < 0.6, "some have bodies, most do not"
    assert sum(bool(re.search(r"#\d+|\b[A-Z]{3}-\d+", c.message)) for c in cs) > 0.15 * len(cs), "issue references"
    assert sum(bool(re.match(r"[A-Z]", s)) for s in subjects) > 0.3 * len(cs), "capitalised and lower case both occur"
    assert sum(bool(re.match(r"[a-z]", s)) for s in subjects) > 0.2 * len(cs)
    lengths = [len(s) for s in subjects]
    assert min(lengths) < 15 and max(lengths) > 70
    verbs = Counter(re.match(r"\W*(\w+)", s).group(1).lower() for s in subjects)
    assert len(verbs) > 40 and verbs.most_common(1)[0][1] < 0.25 * len(cs)


def test_conventional_prefixes_are_a_minority_and_not_a_giveaway():
    cs = commits(1500)
    conventional = [c for c in cs if re.match(r"(feat|fix|chore|docs|ci|build|refactor|style|test)(\([\w-]+\))?: ", c.subject)]
    assert 0.03 < len(conventional) / len(cs) < 0.25
    disagree = [c for c in conventional if not c.subject.startswith(c.label)]
    assert len(disagree) > 0.2 * len(conventional)


def test_the_first_word_alone_does_not_give_the_label_away():
    cs = commits(2000)
    first = lambda c: (re.findall(r"[a-z]+", c.subject.lower()) or [""])[0]  # noqa: E731
    seen = defaultdict(Counter)
    for c in cs[:1000]:
        seen[first(c)][c.label] += 1
    guess = [seen[first(c)].most_common(1)[0][0] if seen[first(c)] else "feat" for c in cs[1000:]]
    accuracy = sum(g == c.label for g, c in zip(guess, cs[1000:])) / 1000
    assert 0.45 < accuracy < 0.85, f"a first-word classifier scores {accuracy:.2f}"


def test_hard_cases_point_at_another_label():
    hard = [c for c in commits(1500) if c.ambiguous]
    assert any(c.label == "chore" and re.search(r"\bfix", c.subject, re.I) for c in hard)
    assert any(c.label == "fix" and re.search(r"\b(add|update|bump|clean|tweak|revert)", c.subject, re.I) for c in hard)


def test_tickets_state_every_value_of_their_record():
    ts = tickets(300)
    assert ts[:10] == tickets(10)
    for t in ts:
        r = t.record
        assert r["customer"] in t.thread and r["email"] in t.thread
        assert (r["parcel_id"] is None) or str(r["parcel_id"]) in t.thread
        assert r["category"] in ("billing", "bug", "data_error", "account", "feature_request")
        assert r["priority"] in ("low", "normal", "high", "urgent")
        assert type(r["refund_requested"]) is bool
        assert json.loads(json.dumps(r)) == r
    assert len({t.record["category"] for t in ts}) == 5 and len({t.record["priority"] for t in ts}) == 4


def test_committed_data_files_match_the_generators():
    from ftcourse.world import files

    assert files.stale() == [], "run `ftcourse world build` and commit the result"
    assert files.load("parcels") == parcels(500, seed=0)
    assert files.load("commits.jsonl")[:5] == commits(5)


def test_world_build_writes_and_checks_files(tmp_path):
    def run(*args):
        return ftcourse("world", "build", "--out", str(tmp_path), *args)

    assert run("--check").returncode == 1, "nothing written yet"
    assert run().returncode == 0
    assert run("--check").returncode == 0
    with open(tmp_path / "tickets.jsonl", "a") as f:
        f.write("{}\n")
    result = run("--check")
    assert result.returncode == 1 and "tickets.jsonl" in result.stderr


def test_zoning_in_finds_the_first_whole_code_in_capitals():
    cases = {
        "Parcel 4412 is zoned R-2 (two-family residential).": "R-2",
        "YOU MUST CHECK: zoned C-2.": "C-2",
        "AGE of the survey: 3 years. Zoned I-1.": "I-1",
        "Zoned R-10 in the old plan, now R-3.": "R-3",
        "Code XR-1, then C-1.": "C-1",
        "the r-1 rules; zoned AG": "AG",
        "zoned I-1 (light industrial), near the R-1 lots": "I-1",
        "Mixed use (MU).": "MU",
        "I do not know.": None,
        "": None,
    }
    assert {reply: zoning_in(reply) for reply in cases} == cases
