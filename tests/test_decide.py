"""The litmus test sends knowledge to retrieval and behaviour to prompting first, and the scenario bank agrees with it."""
import pytest

from ftcourse import decide
from ftcourse.decide import CHOICES, FINE_TUNE, PROMPT, RAG, RAG_AND_FINE_TUNE, Need, litmus


@pytest.mark.parametrize("need, expected", [
    (Need(missing_knowledge=True, wrong_behaviour=False), RAG),
    (Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=False, high_volume=True), RAG),
    (Need(missing_knowledge=False, wrong_behaviour=True), PROMPT),
    (Need(missing_knowledge=False, wrong_behaviour=True, high_volume=True), PROMPT),
    (Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=True), FINE_TUNE),
    (Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=False), PROMPT),
    (Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=False, high_volume=True), FINE_TUNE),
    (Need(missing_knowledge=True, wrong_behaviour=True, fails_with_examples=True), RAG_AND_FINE_TUNE),
    (Need(missing_knowledge=True, wrong_behaviour=True, fails_with_examples=False, high_volume=True), RAG_AND_FINE_TUNE),
    (Need(missing_knowledge=True, wrong_behaviour=True), RAG),
    (Need(missing_knowledge=True, wrong_behaviour=True, fails_with_examples=False), RAG),
    (Need(missing_knowledge=False, wrong_behaviour=False), PROMPT),
], ids=lambda x: x if isinstance(x, str) else "")
def test_litmus(need, expected):
    decision = litmus(need)
    assert decision.choice == expected
    assert decision.reason and "\n" not in decision.reason


def test_the_bank_holds_the_four_reps_and_a_dozen_course_world_scenarios():
    sources = [s.source for s in decide.SCENARIOS]
    assert sources.count("syllabus") == 4 and sources.count("course world") >= 12
    assert len({s.name for s in decide.SCENARIOS}) == len(decide.SCENARIOS), "names are unique"


@pytest.mark.parametrize("scenario", decide.SCENARIOS, ids=lambda s: s.name)
def test_every_scenario_is_answered_by_the_litmus_test(scenario):
    assert scenario.answer in CHOICES
    assert litmus(scenario.need).choice == scenario.answer
    assert scenario.situation.endswith(".") and scenario.why.endswith(".")


def test_the_bank_covers_every_answer_and_the_classic_traps():
    answers = {s.answer for s in decide.SCENARIOS}
    assert answers == set(CHOICES)
    needs = [s.need for s in decide.SCENARIOS]
    assert any(n.wrong_behaviour and n.fails_with_examples is None for n in needs), "a fine-tune proposed before any prompt"
    assert any(n.high_volume and n.fails_with_examples is False for n in needs), "prompting works but is rented at volume"
