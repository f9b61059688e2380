"""The LandAI task: the target layout, the verdict rule, and a checker that catches layout and fact errors."""
from collections import Counter

import pytest

from ftcourse.world import landai, parcels
from ftcourse.world.parcels import Parcel

EXAMPLE = Parcel(4412, "Alder", "R-2", "X", 3.2, 4.0, "loam", "paved", ("water", "sewer", "electric"), 185_000, False, ())


def with_(**changes):
    return Parcel(**{**EXAMPLE.__dict__, **changes})


def test_buyer_summary_is_the_house_layout():
    assert landai.buyer_summary(EXAMPLE) == (
        "**Parcel 4412 — Buyer Summary**\n"
        "- Zoning: R-2 (two-family residential)\n"
        "- Flood risk: low (zone X)\n"
        "- Size and terrain: 3.20 acres, 4% slope (gently sloping), loam soil\n"
        "- Access and utilities: paved road; water, sewer, electric\n"
        "- Price: $185,000 ($57,813 per acre)\n"
        "- Verdict: suitable for residential development."
    )


def test_summary_of_a_parcel_without_road_or_utilities():
    text = landai.buyer_summary(with_(road_access="none", utilities=(), slope_pct=12.5, zoning="AG"))
    assert "- Access and utilities: no road access; no utilities" in text
    assert "12.5% slope (moderately sloping)" in text
    assert text.endswith("- Verdict: buildable only after securing road access.")


@pytest.mark.parametrize("changes, expected", [
    ({"flood_zone": "AE", "slope_pct": 30.0, "road_access": "none"}, "not recommended for building: high flood risk"),
    ({"flood_zone": "VE"}, "not recommended for building: high flood risk"),
    ({"flood_zone": "A"}, "not recommended for building: high flood risk"),
    ({"flood_zone": "X500", "slope_pct": 16.0, "road_access": "none"}, "not recommended for building: steep terrain"),
    ({"slope_pct": 15.0}, "suitable for residential development"),
    ({"slope_pct": 22.0, "road_access": "none"}, "not recommended for building: steep terrain"),
    ({"road_access": "none", "zoning": "C-2"}, "buildable only after securing road access"),
    ({"zoning": "R-1"}, "suitable for residential development"),
    ({"zoning": "R-3"}, "suitable for residential development"),
    ({"zoning": "C-1"}, "suitable for commercial development"),
    ({"zoning": "AG", "road_access": "dirt"}, "suitable for agriculture or a rural homestead"),
    ({"zoning": "I-1"}, "suitable for light industrial use"),
    ({"zoning": "MU"}, "suitable for mixed-use development"),
])
def test_verdict_rule_first_match_wins(changes, expected):
    assert landai.verdict(with_(**changes)) == expected


def test_user_prompt_carries_the_record_and_conversation_is_chat_jsonl():
    p = parcels(1, seed=5)[0]
    prompt = landai.user_prompt(p)
    assert str(p.parcel_id) in prompt.splitlines()[0]
    assert p.record() in prompt
    messages = landai.conversation(p)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"] == landai.SYSTEM_PROMPT and messages[2]["content"] == landai.buyer_summary(p)


def test_the_target_passes_for_many_parcels():
    for p in parcels(300, seed=1):
        check = landai.check_summary(landai.buyer_summary(p), p)
        assert check.layout_ok and check.facts_ok and all(check.fields.values()) and not check.problems


def replace_line(text, i, line):
    lines = text.splitlines()
    lines[i] = line
    return "\n".join(lines)


GOOD = landai.buyer_summary(EXAMPLE)
LAYOUT_ERRORS = {
    "no header": "\n".join(GOOD.splitlines()[1:]),
    "plain header": replace_line(GOOD, 0, "Parcel 4412 — Buyer Summary"),
    "hyphen in header": replace_line(GOOD, 0, "**Parcel 4412 - Buyer Summary**"),
    "bullets swapped": "\n".join([GOOD.splitlines()[0], *GOOD.splitlines()[2:3], GOOD.splitlines()[1], *GOOD.splitlines()[3:]]),
    "a bullet missing": "\n".join(GOOD.splitlines()[:-2] + GOOD.splitlines()[-1:]),
    "star bullets": GOOD.replace("\n- ", "\n* "),
    "bold labels": GOOD.replace("- Zoning:", "- **Zoning**:"),
    "a line of prose after": GOOD + "\nLet me know if you need anything else!",
    "a blank line inside": GOOD.replace("\n- Price", "\n\n- Price"),
    "an empty bullet": replace_line(GOOD, 5, "- Price: "),
    "label renamed": GOOD.replace("- Flood risk:", "- Flood:"),
}


@pytest.mark.parametrize("name", LAYOUT_ERRORS)
def test_layout_errors_are_caught(name):
    check = landai.check_summary(LAYOUT_ERRORS[name], EXAMPLE)
    assert not check.layout_ok, name
    assert check.problems


def test_surrounding_whitespace_is_not_a_layout_error():
    assert landai.check_summary("\n" + GOOD + "\n\n", EXAMPLE).layout_ok


@pytest.mark.parametrize("line, bad, fact", [
    (1, "- Zoning: R-1 (single-family residential)", "zoning"),
    (1, "- Zoning: R-2X (two-family residential)", "zoning"),
    (2, "- Flood risk: low (zone X500)", "flood zone"),
    (2, "- Flood risk: low", "flood zone"),
    (6, "- Verdict: suitable for commercial development.", "verdict"),
    (6, "- Verdict: not recommended for building: high flood risk.", "verdict"),
])
def test_fact_errors_are_caught_with_the_layout_intact(line, bad, fact):
    check = landai.check_summary(replace_line(GOOD, line, bad), EXAMPLE)
    assert check.layout_ok and not check.facts_ok
    assert any(fact in p for p in check.problems)
    assert not check.fields[landai.REQUIRED_FIELDS[line - 1]]


def test_other_fields_are_reported_but_do_not_decide_the_facts():
    check = landai.check_summary(replace_line(GOOD, 5, "- Price: $190,000 ($59,375 per acre)"), EXAMPLE)
    assert check.layout_ok and check.facts_ok and check.fields["Price"] is False
    check = landai.check_summary(GOOD.replace("4412", "4413", 1), EXAMPLE)
    assert check.layout_ok and check.fields["header"] is False


def test_facts_are_read_even_when_the_layout_is_wrong():
    check = landai.check_summary(LAYOUT_ERRORS["star bullets"] + "\nThanks!", EXAMPLE)
    assert check.facts_ok and not check.layout_ok
    verdict_case = "Verdict: Suitable for residential development"
    assert landai.check_summary(GOOD.replace("Verdict: suitable for residential development.", verdict_case), EXAMPLE).facts_ok


def test_nothing_is_not_a_summary():
    for text in ("", "   ", "I cannot help with that."):
        check = landai.check_summary(text, EXAMPLE)
        assert not check.layout_ok and not check.facts_ok


@pytest.mark.parametrize("changes, expected", [
    ({"flood_zone": "AE", "slope_pct": 30.0, "road_access": "none"}, "flood"),
    ({"flood_zone": "X500", "slope_pct": 16.0, "road_access": "none"}, "steep"),
    ({"slope_pct": 15.0, "road_access": "none"}, "no road"),
    ({"slope_pct": 15.0}, "zoning"),
])
def test_branch_names_the_rule_that_decides_and_verdict_follows_it(changes, expected):
    p = with_(**changes)
    assert landai.branch(p) == expected
    assert landai.branch(p) == "zoning" or landai.verdict(p) == landai.verdict(with_(zoning="MU", **changes))


def test_tally_counts_each_fact_and_the_verdict_per_branch():
    steep, landlocked = with_(slope_pct=20.0), with_(road_access="none")
    wrong_verdict = landai.buyer_summary(steep).replace("not recommended for building: steep terrain",
                                                         "suitable for residential development")
    wrong_zone = landai.buyer_summary(EXAMPLE).replace("(zone X)", "(zone AE)").replace("4% slope", "5% slope")
    checks = [landai.check_summary(text, p) for text, p in
              [(wrong_verdict, steep), (landai.buyer_summary(landlocked), landlocked), (wrong_zone, EXAMPLE)]]
    facts, fields = landai.tally([steep, landlocked, EXAMPLE], checks)
    assert facts == {"zoning": (3, 3), "flood zone": (2, 3), "verdict, steep": (0, 1), "verdict, no road": (1, 1),
                     "verdict, zoning": (1, 1)}
    assert fields["Zoning"] == 3 and fields["Flood risk"] == 2 and fields["Size and terrain"] == 2 and fields["Verdict"] == 2


def test_covering_keeps_the_draw_and_owes_every_branch_its_minimum():
    pool = parcels(2000, seed=7)
    plain = landai.covering(pool, 200, 0)
    assert plain == pool[:200]
    covered = landai.covering(pool, 200, 30)
    counts = Counter(landai.branch(p) for p in covered)
    assert len(covered) == len(set(covered)) == 200 and min(counts[b] for b in landai.BRANCHES) >= 30
    assert covered[:50] == pool[:50], "the same draw until the slots left are owed"
    assert [p for p in pool if p in set(covered)] == covered, "in the pool's order"
    with pytest.raises(ValueError, match="too few of some branch"):
        landai.covering(pool[:100], 100, 30)
